"""`python -m zoo.bench gpu`: every GPU path of zoo measured by one command. command runs the steps (each in its own
process, under its own time limit and the run's budget) and writes the JSON; steps and predict_step are the steps;
table renders the README's GPU table from the JSON."""
