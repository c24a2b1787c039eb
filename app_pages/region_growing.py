"""Region growing: regions start at seed pixels and absorb neighbours that are similar enough."""

from __future__ import annotations

import functools

import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

import segcore
from segcore import viz
from segcore.methods.region_growing import region_growing
from ui import animations, display, runner, state
from ui import teaching_rg as teach

cur = state.current()
height, width = cur.shape
display.page_header("Region growing", "Each seed pixel grows a region: neighbours join while they are similar "
                    "enough to the region (within the tolerance), and growth stops when no neighbour passes.", cur)
seeds = teach.current_seeds(cur)

with st.container(border=True):
    c1, c2, c3 = st.columns([1.1, 1.5, 1])
    mode = c1.radio("Seeds", list(teach.SEED_MODES), format_func=teach.SEED_MODES.get, key="rg_seed_mode",
                    help="Automatic: Otsu's threshold finds the objects, and each gets a seed at its most "
                         "interior pixel. Your own: click on the image in the Result tab or type coordinates.")
    if mode == "auto":
        max_seeds = c1.number_input("Most automatic seeds", 1, 1000, 200, key="rg_max_seeds",
                                    help="The largest objects get seeds first.")
    auto_tolerance = c2.checkbox(
        "Automatic tolerance", value=True, key="rg_auto_tolerance",
        help="One tolerance per seed, a fraction of the gap between the seed's value and the mean of the other "
             "side of an Otsu split (the background); growth is only limited towards that side.")
    tolerance_value = c2.slider("Tolerance (largest accepted difference, gray levels)", 0, 255, 20,
                                key="rg_tolerance", disabled=auto_tolerance)
    criterion = c2.radio("Compare each candidate pixel with", list(teach.CRITERIA), key="rg_criterion", index=1,
                         captions=list(teach.CRITERIA.values()))
    connectivity = c3.radio("Connectivity", [4, 8], key="rg_connectivity", horizontal=True,
                            format_func=lambda n: f"{n} neighbours",
                            help="4: pixels touching by an edge; 8: also by a corner.")
    color = c3.toggle("Colour distance", key="rg_color",
                      help="Compare R, G and B separately (each within the tolerance) instead of the gray level.")
    overlay_mode = display.overlay_choice("rg_overlay")

tolerance = "auto" if auto_tolerance else tolerance_value
params = dict(tolerance=tolerance, connectivity=connectivity, criterion=criterion,
              features="rgb" if color else "gray")
if mode == "auto":
    params.update(seeds="auto", max_seeds=int(max_seeds))
else:
    params.update(seeds=seeds)
result = runner.try_run(cur.image, cur.key, "region_growing", **params) if params["seeds"] else None
tab_result, tab_watch = st.tabs(["Result", "Watch it work"], key="rg_tab", on_change="rerun")

if tab_result.open:
    with tab_result:
        left, right = st.columns([1.15, 1])
        with left:
            st.markdown("**Click on the image to add a seed**" + (" (this switches to your own seeds)"
                                                                     if mode == "auto" else ""))
            shown_seeds = result.info["seeds"] if result is not None else seeds
            streamlit_image_coordinates(teach.seeds_picture(cur, result, shown_seeds), key="rg_click",
                                        width="stretch", cursor="crosshair", png_compression_level=1,
                                        on_click=functools.partial(teach.add_clicked_seed, cur.shape))
        with right:
            st.markdown("**Or type a seed**")
            display.keep_in_range("rg_row", 0, height - 1)
            display.keep_in_range("rg_col", 0, width - 1)
            r1, r2 = st.columns(2)
            r1.number_input("Row", 0, height - 1, height // 2, key="rg_row")
            r2.number_input("Column", 0, width - 1, width // 2, key="rg_col")
            b1, b2, b3 = st.columns(3)
            b1.button("Add", key="rg_add", on_click=teach.add_typed_seed, icon=":material/add_location:")
            b2.button("Undo", key="rg_undo", on_click=teach.undo_seed, disabled=not seeds,
                      icon=":material/undo:")
            b3.button("Clear", key="rg_clear", on_click=teach.clear_seeds, disabled=not seeds,
                      icon=":material/delete:")
            if result is not None:
                st.dataframe(teach.region_rows(result), hide_index=True,
                             height=min(36 * (len(result.info["seeds"]) + 1) + 4, 320))
        if result is None and mode == "manual" and not seeds:
            st.info("No seeds yet: click on the image, or type a row and column and press 'Add'.",
                    icon=":material/touch_app:")
        elif result is not None:
            sizes = result.info["region_sizes"]
            grown = sum(1 for size in sizes if size)
            in_regions = sum(sizes)
            st.markdown(f"**{display.plural(grown, 'region')}** from {display.plural(len(sizes), 'seed')} · "
                        f"**{display.plural(in_regions, 'pixel')}** in regions "
                        f"({100 * in_regions / (height * width):.1f}% of the image)")
            merged = result.info["merged_seeds"]
            if merged:
                st.caption(teach.merged_note(merged))
            if not sizes:
                st.warning("Otsu's threshold found no objects to seed (the image has a single gray level).",
                           icon=":material/warning:")
            display.show_result(cur, result, key="rg", overlay_mode=overlay_mode,
                                label_caption="Regions (one colour per seed)")

if tab_watch.open:
    with tab_watch:
        st.subheader("Wave by wave")
        if mode == "manual" and not seeds:
            st.info("Place at least one seed in the Result tab to watch it grow.", icon=":material/touch_app:")
        else:
            st.markdown("Each **wave** adds every pixel that touches the region and passes the test; the newest "
                        "wave is white. Seeds grow one after another, so with several seeds the regions appear "
                        "in turn. Press **Play**, or drag the slider under the picture.")
            small, small_key, scale = display.watch_copy(cur, "every wave keeps a picture of the regions")
            watch = dict(params)
            if mode == "manual":
                watch["seeds"] = teach.scale_seeds(seeds, scale, small.shape[:2])
            growth = teach.growth_figure(small, small_key, **watch)
            several = growth is not None and len(growth.seeds) > 1
            pick_seed, pick_wave = st.columns([1, 2]) if several else (None, st.container())
            if several:
                options = ["all"] + list(range(1, len(growth.seeds) + 1))
                display.keep_choice("rg_watch_seed", options)
                seed_names = {o: f"Seed {o} only, at (row {growth.seeds[o - 1][0]}, col {growth.seeds[o - 1][1]})"
                              for o in options[1:]}
                only = pick_seed.selectbox("Seeds to grow", options, key="rg_watch_seed",
                                           format_func=lambda o: seed_names.get(o, "All, one after another"))
                if only != "all":
                    watch.update(seeds=[growth.seeds[only - 1]])
                    watch.pop("max_seeds", None)
                    growth = teach.growth_figure(small, small_key, **watch)
            if growth is not None:
                names = [frame.name for frame in growth.figure.frames]
                display.keep_choice("rg_watch_frame", names)
                frame = pick_wave.select_slider("Wave", names, key="rg_watch_frame",
                                              format_func=lambda name: str(growth.summaries[name][0]),
                                              help="The wave the animation below opens at.")
                st.plotly_chart(animations.show_frame(growth.figure, frame), key="rg_watch_fig")
                wave, so_far, added = growth.summaries[frame]
                st.caption(f"After wave {wave}: {display.plural(so_far, 'pixel')} in regions, {added:,} of them new "
                           "(white).")

        st.subheader("Compare criteria")
        if mode == "manual" and not seeds:
            st.info("Place at least one seed in the Result tab to compare the criteria.",
                    icon=":material/touch_app:")
        else:
            st.markdown("The same seeds and tolerance, three ways of deciding whether a neighbour is similar "
                        "enough:")
            columns = st.columns(3)
            for column, name in zip(columns, teach.CRITERIA):
                other = runner.try_run(cur.image, cur.key, "region_growing", **{**params, "criterion": name})
                if other is None:
                    continue
                covered = sum(other.info["region_sizes"])
                caption = f"{name}: {display.plural(covered, 'pixel')} ({100 * covered / (height * width):.1f}%)"
                if cur.has_truth:
                    caption += f" · IoU {segcore.metrics.iou(cur.truth, other.mask):.3f}"
                column.image(viz.overlay(display.for_screen(cur.image), display.labels_for_screen(other.labels),
                                         mode=overlay_mode, thickness=2), caption=caption, width="stretch")
                column.caption(f"Compared with {teach.CRITERIA[name]}.")
            st.markdown(
                "- **neighbor** chains small steps: a pixel only has to resemble the region pixel next to it, so "
                "a region can creep along a slow gradient far from its seed's value (a leak).\n"
                "- **seed** is a fixed band around the seed's value: predictable, but one noisy seed pixel "
                "shifts the whole band.\n"
                "- **mean** compares with the region's average, which settles as the region grows: less "
                "sensitive to the seed pixel, and pixels refused early can join later when the mean moves."
                + ("\n- With automatic tolerance each criterion gets its own fraction of the gap to the "
                   "background, smaller for the two that move their reference." if auto_tolerance else ""))

        st.subheader("Worked example: the cheatsheet's 4×4 grid")
        st.markdown("Seed on the 13 at (row 1, col 1). Change the settings and follow the waves: blue cells are "
                    "in the region, orange cells joined in this wave, the seed is outlined.")
        e1, e2, e3 = st.columns([1.2, 1.6, 1])
        ex_tolerance = e1.slider("Tolerance", 0, 10, 2, key="rg_ex_tolerance")
        ex_criterion = e2.radio("Compare with", list(teach.CRITERIA), key="rg_ex_criterion", horizontal=True)
        ex_connectivity = e3.radio("Connectivity", [4, 8], key="rg_ex_connectivity", horizontal=True,
                                   format_func=lambda n: f"{n} neighbours")
        example = runner.run(teach.SEED_GRID, teach.SEED_GRID_KEY, "region_growing", seeds=[teach.SEED_GRID_SEED],
                             tolerance=ex_tolerance, criterion=ex_criterion, connectivity=ex_connectivity,
                             return_steps=True)
        waves = teach.example_waves(example)
        per_row = 4
        for start in range(0, len(waves), per_row):
            for column, step in zip(st.columns(per_row), waves[start:start + per_row]):
                grid = animations.value_grid(teach.SEED_GRID, region=step.region, new=step.new, seed=teach.SEED_GRID_SEED,
                                         title=f"Wave {step.wave}: {display.plural(step.size, 'pixel')}")
                column.plotly_chart(grid, key=f"rg_ex_wave_{step.wave}")
        st.markdown(f"Region size after each wave: **{', '.join(str(step.size) for step in waves)}**.")
        st.markdown(teach.boundary_explanation(teach.SEED_GRID, example.labels, teach.SEED_GRID_SEED,
                                               tolerance=ex_tolerance, criterion=ex_criterion,
                                               connectivity=ex_connectivity))

display.how_it_works("region_growing")
call_params = ", ".join(f"{key}={value!r}" for key, value in params.items())
display.show_code(region_growing, call=f"segcore.segment(image, 'region_growing', {call_params})")
