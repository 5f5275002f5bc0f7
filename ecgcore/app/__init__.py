"""The app's view logic: what each page shows, computed from ecgcore objects, one module per concern.
Nothing here imports Streamlit (the pages in ``app_pages/`` lay it out), so all of it is unit-tested
directly.

settings     the saved data folder / dataset choice, folder check, signal cache
records      record table, filters, one record, a patient's records, parts of a fold
summary      dataset counts, labels per strat fold / part, patient-disjointness checks
run_status   a run's live state, evaluating / active / resumable, checkpoint fits the dataset
runs_view    runs table, per-model overview, runs with results or checkpoints
progress     training progress, loss-curve events, log tail
submit       queueing trainings from the Train page
results      metric tables, confusion at thresholds, fold summary, 1D vs 2D, references
uploads      reading an upload, example CSV, probability table, default class to explain
"""
