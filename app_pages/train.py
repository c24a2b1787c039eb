"""Train a U-Net on your own images (or fine-tune the bundled one), and the loss lab."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st

from segcore import viz
from segcore.errors import SegcoreError
from ui import display, models, state, texts, training, user_models
from ui.config import settings as server_settings
from ui.training_charts import loss_chart, score_chart

cur = state.current()
display.page_header(
    "Train a U-Net",
    "Teach the network your own images: fine-tune the bundled nuclei model or train one from scratch, for a few "
    "minutes, while the loss and the validation scores move. The result becomes a model you can pick on the U-Net "
    "and Compare pages for this session, and download.",
    cur,
)
training.collect_finished()
job = training.current_job()
busy = job is not None and job.running

mode = st.radio("What to do", ["Train on your data", "Loss lab (teaching)"], key="tr_mode", horizontal=True,
                label_visibility="collapsed")


def show_preview(job: training.Job, run: training.Run, column) -> None:
    """The first validation image, the network's probability on it after the last validation, and the truth."""
    sample = job.data.val[0]
    last = run.validations[-1] if run.validations else None
    side = last.preview.shape if last is not None and last.preview is not None else None
    image = display.for_screen(sample.image)
    truth = sample.mask
    if side is not None:
        import cv2

        image = cv2.resize(sample.image, side[::-1], interpolation=cv2.INTER_AREA)
        truth = cv2.resize(sample.mask.view(np.uint8), side[::-1], interpolation=cv2.INTER_NEAREST) > 0
    a, b, c = column.columns(3)
    a.image(image, caption=f"Validation image: {sample.name}", width="stretch")
    if last is None or last.preview is None:
        b.info("The prediction appears after the first validation pass.")
    else:
        b.image(viz.heatmap(last.preview / 255.0), width="stretch",
                caption=f"Probability at step {last.step} (IoU {last.scores['val_iou']:.2f} over the validation set)")
    c.image(viz.colorize(truth.view(np.uint8), colors=np.array([[0, 0, 0], [255, 255, 255]])), width="stretch",
            caption="Ground truth")


def progress_bar(job: training.Job) -> None:
    prefix = f"{job.current.label}: " if len(job.runs) > 1 and job.running else ""
    st.progress(training.progress_fraction(job), text=prefix + training.status_text(job))


@st.fragment(run_every=1.5 if busy else None)
def live(job_id: int) -> None:
    job = training.current_job()
    if job is None or job.id != job_id:
        return
    if not job.running and st.session_state.get("_tr_drawn_end") != job.id:
        st.session_state["_tr_drawn_end"] = job.id
        st.rerun()  # the whole page: the run has ended, show its results (and stop polling)
    top = st.columns([4, 1])
    with top[0]:
        progress_bar(job)
    if job.running:
        top[1].button("Stop", key="tr_stop", icon=":material/stop_circle:", on_click=training.stop,
                      help="End the run now; the best model so far is kept (one last validation pass first).")
    left, right = st.columns(2)
    runs = [(r.label, r.steps) for r in job.runs if r.steps]
    if runs:
        left.plotly_chart(loss_chart(runs), key=f"tr_{job.kind}_loss_chart")
        right.plotly_chart(score_chart([(r.label, r.validations) for r in job.runs if r.validations]),
                           key=f"tr_{job.kind}_score_chart")
    if job.kind == "train":
        show_preview(job, job.runs[0], st.container())


def started(job: training.Job | None) -> None:
    """After a start request: rerun to show the run, or say why the server cannot start it now."""
    if job is None:
        st.warning(training.busy_message(), icon=":material/hourglass_top:")
    else:
        st.rerun()


def show_errors(job: training.Job) -> None:
    if job.error:
        st.error(f"The training stopped with an error: {job.error}. Nothing else of yours was lost"
                 + ("; the best model so far is kept." if job.best_folder else "."), icon=":material/error:")


# ----------------------------------------------------------------- train on your data
if mode == "Train on your data":
    data = None
    with st.container(border=True):
        st.markdown("**Data**")
        left, right = st.columns([2, 1])
        source = left.radio("Images and masks", [training.SAMPLE, training.ZIP, training.CURRENT], key="tr_source",
                            help="The bundled sample is 30 DSB2018 nuclei images (fluorescence, histology, "
                                 "brightfield) with masks; it works with no upload.")
        val_fraction = right.slider("Share held out for validation", 0.1, 0.5, 0.2, 0.05, key="tr_val",
                                    help="Whole images are held out (chosen at random, seed 0); the network never "
                                         "trains on them, so their score says how well it generalises.",
                                    disabled=source == training.CURRENT)
        try:
            if source == training.SAMPLE:
                data = training.bundled(val_fraction)
            elif source == training.ZIP:
                st.caption(f"{texts.ZIP_LAYOUT} An `index.csv` with `id` and `modality` columns is optional.")
                upload = st.file_uploader("Zip of image/mask pairs", type=["zip"], key="tr_zip")
                if upload is not None:
                    if upload.size > server_settings().max_upload_mb * 2**20:
                        st.error(f"The zip is larger than this server's limit of {server_settings().max_upload_mb} "
                                 "MB.", icon=":material/error:")
                    else:
                        with st.spinner("Reading the zip…"):
                            data = training.from_zip(upload.name, upload.getvalue(), val_fraction)
            elif not cur.has_truth:
                st.info("The current image has no ground-truth mask: upload one in the sidebar (or pick a sample "
                        "that has one), then come back.", icon=":material/info:")
            else:
                data = training.from_current(cur.image, cur.truth, cur.name)
        except SegcoreError as error:
            st.error(f"These data cannot be used for training: {error}", icon=":material/error:")
            data = None
        if data is not None:
            st.caption(f"Training on {data.name}. {data.note}")
            with st.expander("A look at the data (yellow: the true outlines)", expanded=True):
                display.thumbnail_row(data.preview())
            if data.warnings:
                st.warning(f"{len(data.warnings)} mask(s) look odd but are used: " + "; ".join(data.warnings[:5])
                           + ("…" if len(data.warnings) > 5 else ""), icon=":material/warning:")
            if data.skipped:
                with st.expander(f"Skipped files ({len(data.skipped)})", icon=":material/block:"):
                    st.dataframe(pd.DataFrame(data.skipped, columns=["file", "reason"]), hide_index=True,
                                 width="stretch")

    with st.container(border=True):
        st.markdown("**Settings**")
        c1, c2, c3 = st.columns(3)
        init = c1.radio("Start from", ["bundled", "scratch"], key="tr_init",
                        format_func={"bundled": "Fine-tune the bundled nuclei model",
                                     "scratch": "From scratch (random weights)"}.get,
                        help="Fine-tuning starts from what the nuclei model already knows: best for nuclei-like "
                             "images and few minutes. From scratch learns anything, but needs more time.")
        encoder_help = ("The network's feature extractor. These train fastest on a CPU, fastest first (see "
                        "bench/README.md); fine-tuning keeps the bundled model's ResNet-10t.")
        if init == "bundled":
            encoder = training.BUNDLED_ENCODER
            c1.selectbox("Encoder", [encoder], key="tr_encoder_bundled", format_func=training.ENCODER_NAMES.get,
                         disabled=True, help=encoder_help)
        else:
            encoder = c1.selectbox("Encoder", training.encoders(), key="tr_encoder",
                                   format_func=training.ENCODER_NAMES.get, help=encoder_help)
        loss = c2.selectbox("Loss", list(training.LOSS_NAMES), key="tr_loss", format_func=training.LOSS_NAMES.get,
                            help="What the network minimises. Cross-entropy scores every pixel alike; Dice and "
                                 "Lovász score the overlap with the objects, so small objects count; focal "
                                 "down-weights easy pixels. From segmentation_models_pytorch.losses.")
        minutes = c2.number_input("Time budget (minutes)", 0.05, 60.0, 2.0, 0.25, key="tr_minutes",
                                  help="The main knob: training stops after this long (plus one last validation "
                                       "pass) and keeps the best model.")
        crop = c2.select_slider("Crop size (pixels)", [64, 96, 128, 192, 256, 384, 512], 256, key="tr_crop",
                                help="Training sees random square crops of this size (smaller images are padded "
                                     "by reflection), so memory stays bounded whatever the image size.")
        augment = c3.toggle("Augmentation", True, key="tr_augment",
                            help="Random zoom, flips, turns, gamma, contrast, colour and noise: more variety from "
                                 "few images. Off: plain crops with flips and turns.")
        lr_choice = c3.selectbox("Learning rate", ["auto", 1e-4, 3e-4, 1e-3, 2e-3, 5e-3], key="tr_lr",
                                 format_func=lambda v: "auto (3e-4 fine-tuning, 2e-3 from scratch)" if v == "auto"
                                 else f"{v:g}",
                                 help="Step size of AdamW, after a short warm-up, then a cosine decay over the "
                                      "time budget. Too high undoes what a fine-tuned model knew.")
        device = c3.selectbox("Device", ["auto"] + models.devices(), key="tr_device",
                              help="'auto' trains on a CUDA GPU when the server has one, else Apple MPS, else the "
                                   "CPU.")
        name = st.text_input("Model name", key="tr_name", max_chars=60,
                             placeholder=f"{'fine-tuned' if init == 'bundled' else 'from scratch'}, {loss}, "
                                         f"{time.strftime('%H:%M')}",
                             help="How the model is listed on the U-Net and Compare pages (this session only).")
    lr = (3e-4 if init == "bundled" else 2e-3) if lr_choice == "auto" else float(lr_choice)
    settings = {"init": init, "encoder": encoder, "loss": loss, "minutes": float(minutes), "crop": int(crop),
                "augment": bool(augment), "lr": lr, "device": device}

    start = st.button("Train", type="primary", key="tr_start", icon=":material/model_training:",
                      disabled=busy or data is None,
                      help="One training per session; it runs in the background, so you can visit other pages.")
    if start and not busy and data is not None:
        label = name.strip() or f"{'fine-tuned' if init == 'bundled' else 'from scratch'}, {loss}, " \
                                 f"{time.strftime('%H:%M')}"
        started(training.start_training(data, settings, label))
    if busy and job.kind != "train":
        st.info("The loss lab is running in this session; one training at a time.", icon=":material/info:")

    if job is not None and job.kind == "train":
        st.subheader(f"Run: {job.name}")
        live(job.id)
        if not job.running:
            show_errors(job)
            run = job.runs[0]
            end = run.finished
            if end is not None and job.best_folder is not None:
                best = end.best
                kept = ("no step beat the bundled model on the validation images, so the kept model is the bundled "
                        "one, unchanged" if best["epoch"] == 0 else f"the model of validation pass {best['epoch']} "
                        "is kept")
                st.success(f"Training ended ({training.REASONS[end.reason]}) after {end.steps} steps in "
                           f"{end.seconds:.0f} s. Best validation IoU {best['val_iou']:.3f}, Dice "
                           f"{best['val_dice']:.3f}: {kept}.", icon=":material/check_circle:")
                b1, b2 = st.columns(2)
                b1.download_button("Download the model (zip)", user_models.zip_bytes(job.best_folder),
                                   file_name=f"{training.clean_name(job.name).replace(' ', '_')}.zip",
                                   mime="application/zip", key="tr_download", icon=":material/download:",
                                   on_click="ignore",
                                   help="config.json, model.safetensors and card.json (data, settings, time, "
                                        "validation scores): load it again with 'Upload files' on the U-Net page.")
                if job.registered and b2.button("Open it on the U-Net page", key="tr_use",
                                                icon=":material/neurology:"):
                    st.session_state["unet_source"] = job.registered
                    st.switch_page("app_pages/unet.py")
                if job.registered:
                    st.caption(f"Listed as **{job.registered}** on the U-Net page and in Compare methods for this "
                               "session.")
            elif not job.error:
                st.warning("The run ended before its first validation pass, so there is no model to keep. Give it "
                           "a larger time budget.", icon=":material/warning:")

# ----------------------------------------------------------------- loss lab
else:
    st.markdown(
        "**Class imbalance.** In these scenes the objects are tiny: about 1% of the pixels. Binary cross-entropy "
        "averages a penalty over *every pixel*, so once the background is right its loss is already low, and the "
        "few object pixels barely move it: the network stays timid on them and its masks come out too small or "
        "miss faint objects. The Dice loss, 1 − 2|P∩G| / (|P| + |G|), only looks at the predicted and the true "
        "foreground: missing an object costs as much whatever the share of background. Below, the same network, "
        "data, seed and number of steps are trained once with each loss, one after the other; compare the "
        "validation IoU curves and the two masks.")
    c1, c2 = st.columns(2)
    lab_steps = c1.select_slider("Training steps per loss", [10, 20, 40, 60, 80, 100, 150, 200], 100,
                                 key="tr_lab_steps",
                                 help="Each loss trains this many steps of 4 crops (100 steps took 82 s on the "
                                      "project's busy 2-core CPU). A budget in steps, not minutes, makes the "
                                      "comparison the same on a busy server, only slower.")
    lab_encoder = training.TEST_ENCODER if st.session_state.get(training.TEST_HOOK) else training.encoders()[0]
    c2.caption(f"Network: U-Net with {training.ENCODER_NAMES[lab_encoder]} from scratch; 128-pixel crops, no "
               "augmentation, learning rate 2e-3, seed 0.")
    lab_data = training.loss_lab_data()
    st.caption(f"Data: {lab_data.name}. {lab_data.note}")
    if st.button("Run the loss lab", type="primary", key="tr_lab_start", disabled=busy,
                 icon=":material/science:"):
        started(training.start_loss_lab(int(lab_steps), lab_encoder, "auto"))
    if busy and job.kind != "lab":
        st.info("A training is running in this session; one at a time.", icon=":material/info:")
    if job is not None and job.kind == "lab":
        live(job.id)
        if not job.running:
            show_errors(job)
            done = [r for r in job.runs if r.validations]
            if done:
                sample = job.data.val[0]
                columns = st.columns(len(done) + 2)
                columns[0].image(sample.image, caption="Validation image", width="stretch")
                columns[1].image(viz.colorize(sample.mask.view(np.uint8), colors=np.array([[0, 0, 0], [255, 255, 255]])),
                                 caption="Ground truth", width="stretch")
                for column, run in zip(columns[2:], done):
                    last = run.validations[-1]
                    if last.preview is not None:
                        column.image(viz.colorize((last.preview > 127).view(np.uint8),
                                                  colors=np.array([[0, 0, 0], [255, 255, 255]])), width="stretch",
                                     caption=f"{run.label}: mask (p > 0.5), IoU {last.scores['val_iou']:.2f}")
                st.dataframe(pd.DataFrame([{"loss": r.label, "steps": r.validations[-1].step,
                                            "last val IoU": r.validations[-1].scores["val_iou"],
                                            "last val Dice": r.validations[-1].scores["val_dice"]} for r in done]),
                             hide_index=True)
                st.caption("What each loss rewards: cross-entropy rewards a right probability on each pixel, so the "
                           "many background pixels dominate it; Dice rewards overlap with the objects, so small "
                           "objects count fully, at the price of probabilities pushed to 0 or 1 (less calibrated). "
                           "BCE + Dice, the training page's default, takes a bit of both.")
