"""Evaluate methods on a whole dataset: scores with intervals, distributions, groups, paired tests, worst cases."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from segcore import SegcoreError, datasets, metrics
from segcore.evaluation import paired_comparison
from ui import dataset_charts, display, evaluation, texts
from ui.config import settings

if st.session_state.pop("ev_open_compare", False):
    st.switch_page("app_pages/compare.py")

st.title("Evaluate a dataset")
st.caption("Run methods on every image of a dataset that has ground-truth masks, and see where each one "
           "fails and whether the difference between two methods is real.")

# --- source -------------------------------------------------------------------
SOURCES = ["Bundled sample", "Upload a zip"] + (["Server folder"] if settings().dataset_folders else [])
source = st.radio("Dataset", SOURCES, key="ev_source", horizontal=True)
loaded: evaluation.Loaded | None = None
if source == "Bundled sample":
    loaded = evaluation.bundled()
    st.caption(f"{len(loaded.dataset)} nuclei images of the 2018 Data Science Bowl (fluorescence, histology, "
               "brightfield; CC0) with masks, instance labels and their modality. They come from the **validation "
               "split**, so the bundled U-Net never trained on them.")
elif source == "Upload a zip":
    st.caption(f"{texts.ZIP_LAYOUT} Optional: a `labels/` folder with instance labels (one value per object), and "
               "an `index.csv` with an `id` column (the file name without extension) whose other columns group "
               "the images, e.g. `modality`.")
    upload = st.file_uploader("Dataset (.zip)", type=["zip"], key="ev_zip")
    if upload is not None:
        try:
            loaded = evaluation.from_zip(upload.name, upload.getvalue())
        except datasets.ArchiveError as error:
            st.error(f"{upload.name}: {error}", icon=":material/error:")
else:
    folder = st.selectbox("Folder on this server", settings().dataset_folders, key="ev_folder",
                          format_func=str, help="Folders the operator of this server made available.")
    try:
        loaded = evaluation.from_folder(folder)
    except SegcoreError as error:
        st.error(str(error), icon=":material/error:")

if loaded is not None:
    st.session_state["ev_dataset"] = loaded
    found = loaded.dataset
    st.markdown(f"**{len(found)} pairs** found in {loaded.name} (layout: {found.layout}"
                + (f"; grouping columns: {', '.join(found.group_columns)}" if found.group_columns else "") + ")"
                + (f"; {len(found.skipped)} files skipped" if found.skipped else ""))
    if found.skipped:
        with st.expander(f"Skipped files ({len(found.skipped)})"):
            st.dataframe(pd.DataFrame([vars(item) for item in found.skipped]), hide_index=True, width="stretch")
    if not len(found):
        st.error("No usable pair of image and mask was found; check the layout above.", icon=":material/error:")
        loaded = None
    else:
        with st.expander("A look at the first images (yellow: the true outlines)", expanded=True):
            display.thumbnail_row(evaluation.preview(loaded))

# --- methods and run ----------------------------------------------------------
choices = evaluation.method_choices()
labels = st.multiselect("Methods", list(choices), default=list(evaluation.DEFAULT_METHODS), key="ev_methods",
                        help="The Compare page's presets; each runs with the parameters in its name.")
job = evaluation.current_job()
if loaded is not None and labels:
    if st.session_state.get("ev_limit", 0) > len(loaded.dataset):  # a smaller dataset than the last one
        st.session_state["ev_limit"] = len(loaded.dataset)
    limit = st.number_input("Images to use (the first N, by name)", min_value=1, max_value=len(loaded.dataset),
                            value=len(loaded.dataset), key="ev_limit")
    running = job is not None and job.running
    if st.button("Run the evaluation", key="ev_run", type="primary", disabled=running, icon=":material/play_arrow:"):
        job = evaluation.start(loaded, labels, int(limit))
        if job is None:
            st.warning("Another evaluation is running on this server; try again when it ends.",
                       icon=":material/hourglass:")
elif not labels:
    st.info("Pick at least one method.")

if job is not None and job.running:
    st.button("Cancel", key="ev_cancel", on_click=evaluation.cancel, icon=":material/stop:")

    @st.fragment(run_every=1.0)
    def _progress() -> None:
        current = evaluation.current_job()
        if current is None or not current.running:
            st.rerun()
        left = current.seconds_left()
        text = f"Scored {current.done} of {current.total} images"
        if left is not None:
            text += f" · about {left:.0f} s left (from the first {current.done})"
        if current.cancel.is_set():
            text += " · cancelling after the current image…"
        st.progress(current.done / max(current.total, 1), text=text)

    _progress()
elif job is not None:
    last = st.session_state.get("ev_result")
    if last is None or last.job_id != job.id:
        evaluation.finish(job)

# --- results ------------------------------------------------------------------
outcome: evaluation.Outcome | None = st.session_state.get("ev_result")
if outcome is None:
    st.stop()
st.divider()
st.header("Results")
if outcome.error:
    st.error(f"The run stopped on an error after {outcome.n_done} images: {outcome.error}", icon=":material/error:")
if outcome.cancelled:
    st.info(f"Cancelled after {outcome.n_done} of {outcome.n_pairs} images; the results cover those.")
if outcome.table.empty:
    st.error("No image could be scored; the skipped table says why.", icon=":material/error:")
else:
    per_image = outcome.seconds_per_image
    st.caption(f"{outcome.n_done} images × {len(outcome.methods)} methods from {outcome.loaded.name} in "
               f"{outcome.seconds:.1f} s; one image took {per_image:.2f} s (median) with these methods on this "
               f"server, so 10,000 images would take about {per_image * 10_000 / 3600:.1f} h here. For sets beyond "
               "one machine run `python -m segcore evaluate --images DIR --masks DIR --method ... --scheduler "
               "tcp://HOST:8786` on a Dask cluster (see the README).")

    st.subheader("Mean scores with 95% bootstrap intervals")
    st.caption("Each cell: mean over images [95% interval from 2,000 bootstrap resamples of the images].")
    narrow = {"method": st.column_config.TextColumn("method", width="medium"),
              "images": st.column_config.NumberColumn("images", width="small")}
    st.markdown("**Pixels** — IoU, Dice and pixel accuracy of the foreground")
    st.dataframe(evaluation.summary_table(outcome, evaluation.PIXEL_COLUMNS), hide_index=True, width="stretch",
                 column_config=narrow)
    if "dsb_score" in outcome.table:
        st.markdown("**Objects** — true and predicted objects matched one-to-one at an IoU above a threshold")
        st.dataframe(evaluation.summary_table(outcome, evaluation.OBJECT_COLUMNS).drop(columns="images"),
                     hide_index=True, width="stretch", column_config=narrow)
        true_rules, predicted = evaluation.instance_rules(outcome)
        st.caption("AP50 / AP75 = TP / (TP + FP + FN) with matches above IoU 0.5 / 0.75; DSB score = mean AP over "
                   "IoU 0.5, 0.55 … 0.95; F1 at 0.5 = object F1; PQ = panoptic quality (mean IoU of the matches "
                   f"× F1 at 0.5). True objects: {true_rules}. Predicted objects — {predicted}.")

    scores = [key for key in dataset_charts.SCORE_TITLES if key in outcome.table]
    score = st.selectbox("Score for the charts", scores, key="ev_score",
                         format_func=lambda key: dataset_charts.SCORE_TITLES[key])
    st.plotly_chart(dataset_charts.distribution_chart(outcome.table, score, outcome.methods), key="ev_dist")

    if outcome.group_columns:
        column = st.selectbox("Break down by", outcome.group_columns, key="ev_group")
        st.plotly_chart(dataset_charts.breakdown_chart(outcome.table, score, column, outcome.methods),
                        key="ev_breakdown")

    if "ap_curve" in outcome.table:
        st.plotly_chart(dataset_charts.ap_curve_chart(outcome.table, metrics.DSB_THRESHOLDS, outcome.methods),
                        key="ev_ap")

    if len(outcome.methods) >= 2:
        st.subheader("Paired comparison")
        left, right = st.columns(2)
        first = left.selectbox("Method A", outcome.methods, index=0, key="ev_pair_a")
        second = right.selectbox("Method B", outcome.methods, index=1, key="ev_pair_b")
        if first == second:
            st.info("Pick two different methods.")
        else:
            wide = evaluation.paired_scores(outcome, score, first, second)
            result = paired_comparison(wide[first], wide[second])
            cells = st.columns(4)
            cells[0].metric(f"A better ({first})", result.wins)
            cells[1].metric("Ties", result.ties)
            cells[2].metric(f"B better ({second})", result.losses)
            cells[3].metric("Wilcoxon p", "n/a" if result.p_value != result.p_value else f"{result.p_value:.3g}")
            if result.p_value == result.p_value:
                st.caption(f"The Wilcoxon signed-rank p-value ({result.p_value:.3g}) is the chance of a difference "
                           "at least this consistent if the two methods were equally good on images like these; "
                           "below 0.05 the difference is unlikely to be luck, above it these images cannot tell "
                           "the methods apart.")
            else:
                st.caption("Fewer than two images differ, so no test is possible.")
            st.plotly_chart(dataset_charts.paired_chart(wide[first], wide[second], wide.index, first, second, score),
                            key="ev_paired")

    st.subheader("Worst images per method")
    st.caption(f"Lowest {dataset_charts.SCORE_TITLES[score]}. Magenta: false positives (marked foreground, truly "
               "background). Cyan: false negatives (missed foreground). Dimmed: correct.")
    with st.spinner("Drawing the worst images…"):
        pictures = {}
        for method in outcome.methods:
            for image_id in evaluation.worst(outcome, method, score):
                try:
                    pictures[method, image_id] = evaluation.error_picture(outcome, image_id, method)
                except SegcoreError as error:
                    pictures[method, image_id] = str(error)
    for m, method in enumerate(outcome.methods):
        st.markdown(f"**{method}**")
        columns = st.columns(3)
        for column, image_id in zip(columns, evaluation.worst(outcome, method, score)):
            value = outcome.table.loc[(outcome.table["method"] == method) & (outcome.table["image"] == image_id),
                                      score].iloc[0]
            picture = pictures[method, image_id]
            if isinstance(picture, str):
                column.warning(f"{image_id}: {picture}")
                continue
            column.image(picture, caption=f"{image_id[:16]} · {value:.3f}", width="stretch")
            column.button("Open in Compare", key=f"ev_open_{m}_{image_id}", on_click=evaluation.open_in_compare,
                          args=(outcome, image_id), icon=":material/open_in_new:")

    left, right = st.columns(2)
    left.download_button("Per-image scores (CSV)", evaluation.csv_text(outcome), file_name="evaluation.csv",
                         mime="text/csv", key="ev_csv", icon=":material/download:", on_click="ignore")
    right.download_button("Report (JSON, as the command line writes)",
                          json.dumps(evaluation.report(outcome), indent=2), file_name="evaluation.json",
                          mime="application/json", key="ev_json", icon=":material/download:", on_click="ignore")

skipped_now = [item for item in outcome.skipped if item not in outcome.loaded.dataset.skipped]
if skipped_now:
    st.subheader(f"Skipped during the run ({len(skipped_now)})")
    st.dataframe(pd.DataFrame([vars(item) for item in skipped_now]), hide_index=True, width="stretch")
