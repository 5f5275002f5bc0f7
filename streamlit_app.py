"""ECG explorer — the Streamlit app: ``streamlit run streamlit_app.py``.

Navigation (st.navigation, so the files in pages/ are not auto-discovered) and the shared frame of
every page: the sidebar with the dataset choice, sampling rate and label set, the dataset line with a
DEMO badge, and the research-only notice (see pages/common.py). With no data configured it opens on
the synthetic demo dataset; a PTB-XL folder is set on Home (remembered across restarts) or with
ECGCORE_DATA_ROOT. Research and education only — not for diagnosis.
"""

import streamlit as st

from pages import common

st.set_page_config(
    page_title="ECG explorer",
    page_icon=":material/ecg_heart:",
    layout="wide",
    menu_items={"About": "ECG explorer: multi-label ECG classification on PTB-XL. " + common.NOTICE},
)

page = st.navigation(
    {
        "Data": [
            st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
            st.Page("pages/dataset.py", title="Dataset", icon=":material/table_view:"),
        ],
        "Models": [
            st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
            st.Page("pages/evaluate.py", title="Evaluate", icon=":material/analytics:"),
        ],
        "Explain and predict": [
            st.Page("pages/saliency.py", title="Saliency", icon=":material/visibility:"),
            st.Page("pages/predict.py", title="Predict", icon=":material/upload_file:"),
        ],
    }
)
common.app_frame()  # the shared sidebar, dataset line and notice; loads the dataset
page.run()
