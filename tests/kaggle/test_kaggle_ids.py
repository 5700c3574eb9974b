"""Ids and column names as competitions ship them: implicit row-order ids with and without a template, template ids
matched by order, and --id-col/--target-col matched ignoring case with errors that name the flag and the column."""

from __future__ import annotations

import pytest
from kaggle_data import write_csv

from zoo.errors import BadData
from zoo.kaggle.submit.submission_ids import line_ending, read_test_rows, template_target
from zoo.kaggle.task.columns import resolved_settings
from zoo.kaggle.task.run_config import RunSettings, train_argv
from zoo.kaggle.task.tables import read_table
from zoo.kaggle.task.targets import Target


def test_a_test_csv_without_ids_and_without_a_template_numbers_its_rows(tmp_path):
    write_csv(tmp_path / "test.csv", ["pixel0", "pixel1"], [[1, 2], [3, 4], [5, 6]])
    said = []
    rows = read_test_rows(tmp_path / "test.csv", None, None, None, said.append)
    assert rows.ids == ["1", "2", "3"] and rows.id_col == "id" and rows.header is None and rows.order == [0, 1, 2]
    assert said == [f"CSV {tmp_path / 'test.csv'} has no id column: rows are numbered 1..3 (id)"]
    write_csv(tmp_path / "ided.csv", ["ID", "pixel0"], [["x", 1], ["y", 2]])
    rows = read_test_rows(tmp_path / "ided.csv", None, None, None, said.append)
    assert (rows.ids, rows.id_col) == (["x", "y"], "ID")  # a column called id is the id, as in train.csv


def test_template_ids_absent_from_the_test_csv_are_matched_by_order(tmp_path):
    write_csv(tmp_path / "test.csv", ["f"], [[1], [2], [3]])
    (tmp_path / "t.csv").write_bytes(b"ImageId,Label\r\n7,0\r\n5,0\r\n9,0\r\n")
    rows = read_test_rows(tmp_path / "test.csv", tmp_path / "t.csv", None, "id", lambda line: None)
    assert (rows.ids, rows.id_col, rows.header, rows.order) == (
        ["7", "5", "9"],
        "ImageId",
        ["ImageId", "Label"],
        [0, 1, 2],
    )
    assert rows.newline == "\r\n" and line_ending(tmp_path / "test.csv") == "\n"
    write_csv(tmp_path / "long.csv", ["ImageId", "Label"], [[i, 0] for i in range(4)])
    with pytest.raises(BadData, match="has 4 rows and the test data 3"):
        read_test_rows(tmp_path / "test.csv", tmp_path / "long.csv", None, None, lambda line: None)


def test_template_ids_present_in_the_test_csv_keep_the_templates_order(tmp_path):
    write_csv(tmp_path / "test.csv", ["ID", "f"], [["b", 1], ["a", 2]])
    write_csv(tmp_path / "t.csv", ["Id", "label"], [["a", 0], ["b", 0]])
    rows = read_test_rows(tmp_path / "test.csv", tmp_path / "t.csv", "id", None, lambda line: None)
    assert rows.id_col == "Id" and rows.order == [1, 0]
    with pytest.raises(BadData, match="has no column 'key'; its columns are \\['Id', 'label'\\]: pass --id-col"):
        read_test_rows(tmp_path / "test.csv", tmp_path / "t.csv", "key", None, lambda line: None)


def test_column_flags_match_ignoring_case_and_say_which_column_was_taken(tmp_path):
    write_csv(tmp_path / "train.csv", ["ImageId", "Label", "Site"], [["a", 1, "x"], ["b", 2, "y"]])
    said = []
    settings = RunSettings(str(tmp_path / "train.csv"), "run", "imageid", ("label",), group_col="SITE")
    resolved = resolved_settings(settings, read_table(tmp_path / "train.csv"), said.append)
    assert (resolved.id_col, resolved.target_cols, resolved.group_col) == ("ImageId", ("Label",), "Site")
    assert [line.split(":")[0] for line in said] == ["--id-col imageid", "--target-col label", "--group-col SITE"]
    with pytest.raises(BadData, match="no column 'Labels'; it could mean 'Label': pass --target-col Label"):
        resolved_settings(RunSettings("t", "r", None, ("Labels",)), read_table(tmp_path / "train.csv"), said.append)


def test_an_id_column_is_found_or_left_implicit_and_the_command_says_so(tmp_path):
    write_csv(tmp_path / "a.csv", ["Id", "label"], [["a", 1]])
    write_csv(tmp_path / "b.csv", ["label", "f"], [[1, 2]])
    found = resolved_settings(RunSettings("a", "r", None, ("label",)), read_table(tmp_path / "a.csv"), print)
    implicit = resolved_settings(RunSettings("b", "r", None, ("label",)), read_table(tmp_path / "b.csv"), print)
    assert found.id_col == "Id" and implicit.id_col is None and implicit.id_name == "id"
    assert "--id-col" not in train_argv(implicit) and "--tabular" in train_argv(
        RunSettings("b", "r", None, (), tabular=True)
    )
    with pytest.raises(BadData, match="no column 'ImageId'; its columns are .* or leave --id-col out to number"):
        resolved_settings(RunSettings("b", "r", "ImageId", ("label",)), read_table(tmp_path / "b.csv"), print)
    with pytest.raises(BadData, match="--images names each row's image by its id: pass --id-col"):
        resolved_settings(RunSettings("b", "r", None, ("label",), images="x"), read_table(tmp_path / "b.csv"), print)


def test_the_target_is_written_as_the_template_spells_it():
    target = Target("multiclass", ("label",), ("0", "1"))
    said = []
    assert template_target(target, ["ImageId", "Label"], said.append).columns == ("Label",)
    assert template_target(target, None, said.append) is target and len(said) == 1
