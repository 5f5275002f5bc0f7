"""ECG explorer — the Streamlit app: ``python -m ecgcore app`` (or ``streamlit run streamlit_app.py``).

Navigation (st.navigation over the page files in ``app_pages/``) and the shared frame of every page:
the sidebar with the dataset choice, sampling rate and label set, the dataset line with a DEMO badge,
and the research-only notice (see app_pages/common.py). With no data configured it opens on the
synthetic demo dataset; a PTB-XL folder is set on Home (remembered across restarts) or with
ECGCORE_DATA_ROOT. Research and education only — not for diagnosis.

Why ``app_pages/`` and not ``pages/``: Streamlit treats a ``pages/`` folder next to the entry script as
a legacy (v1) multipage app until some session has run ``st.navigation``. A fresh server's first
request for ``/dataset`` would then run ``pages/dataset.py`` alone — a sidebar listing every file,
no wide layout — for every session until someone opened ``/``. With no ``pages/`` folder every URL,
query parameters included, goes through this script from the first request on.
"""

import streamlit as st

from app_pages import common, warm_up

st.set_page_config(
    page_title="ECG explorer",
    page_icon=":material/ecg_heart:",
    layout="wide",
    menu_items={"About": "ECG explorer: multi-label ECG classification on PTB-XL. " + common.NOTICE},
)

page = st.navigation(
    {
        "Data": [
            st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
            st.Page("app_pages/dataset.py", title="Dataset", icon=":material/table_view:"),
        ],
        "Models": [
            st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
            st.Page("app_pages/evaluate.py", title="Evaluate", icon=":material/analytics:"),
            st.Page("app_pages/sweeps.py", title="Sweeps", icon=":material/tune:"),
        ],
        "Explain and predict": [
            st.Page("app_pages/saliency.py", title="Saliency", icon=":material/visibility:"),
            st.Page("app_pages/predict.py", title="Predict", icon=":material/upload_file:"),
        ],
    }
)
with warm_up.page_run():  # at the end of the server's first run: the background warm-up of the other pages
    common.app_frame()  # the shared sidebar, dataset line and notice; loads the dataset
    page.run()
