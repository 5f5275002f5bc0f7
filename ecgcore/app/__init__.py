"""The app's view logic: what each page shows, computed from ecgcore objects, one module per concern.
Nothing here imports Streamlit (the pages in ``app_pages/`` lay it out), so all of it is unit-tested
directly.

settings     the saved data folder / dataset choice, folder check, signal cache
records      record table, filters, one record, a patient's records, parts of a fold
summary      dataset counts, labels per strat fold / part, patient-disjointness checks
run_status   a run's live state, evaluating / active / resumable, checkpoint fits the dataset
runs_view    runs table, per-model overview, runs with results or checkpoints, missing cells as '—'
progress     training progress, loss-curve events, log tail
submit       queueing trainings from the Train page, the recipe as a table, the runs folder check
results      metric tables with per-class CIs, confusion at thresholds, fold summary, references
errors       the records behind a confusion cell (records.csv), links to Saliency
comparison   two run groups fold by fold, their recipes and differences
explain      Saliency and Predict: deep links, the record picker, the predicted set, ensemble members
words        the words people read: plan, method, part, state and dataset names, CLI advice as button words
"""
