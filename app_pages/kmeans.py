"""K-means clustering: every pixel is a point in colour space; K centres split the points into K groups."""

from __future__ import annotations

import streamlit as st

from segcore import viz
from segcore.methods.clustering import gmm, kmeans
from ui import animations, charts, display, runner, state
from ui import teaching_km as teach

cur = state.current()
height, width = cur.shape
display.page_header("K-means clustering", "Pixels are grouped by colour (and, if you like, position) into K "
                    "clusters; each pixel then takes its cluster's colour. Clusters are colour groups, not "
                    "connected regions.", cur)

with st.container(border=True):
    c1, c2, c3 = st.columns(3)
    n_clusters = c1.slider("Number of clusters K", 2, 12, 3, key="km_k")
    use_gmm = c1.toggle("Gaussian mixture instead", key="km_gmm",
                        help="Soft, elliptical clusters fitted by expectation-maximisation (scikit-learn's "
                             "GaussianMixture) instead of k-means' round ones.")
    features = c2.selectbox("Feature space", list(teach.FEATURE_SPACES), format_func=teach.FEATURE_SPACES.get,
                            key="km_features",
                            help="What 'similar colour' means: distances in RGB, in CIE Lab (closer to how people "
                                 "see colour differences), in HSV (hue as an angle) or in gray level only.")
    spatial_weight = c2.slider("Spatial weight", 0.0, 3.0, 0.0, step=0.1, key="km_spatial",
                               help="Adds each pixel's position to its features: 0 clusters by colour alone; at 1 "
                                    "the image's diagonal counts as much as black to white; more gives compact blobs.")
    random_state = c3.number_input("Random state", 0, 2**32 - 1, 0, key="km_random_state",
                                   help="Seed of the k-means++ initialisation: another seed can end in another "
                                        "local minimum.")
    overlay_mode = display.overlay_choice("km_overlay")

method = "gmm" if use_gmm else "kmeans"
params = dict(features=features, spatial_weight=spatial_weight, random_state=int(random_state))
params["n_clusters"] = n_clusters
result = runner.try_run(cur.image, cur.key, method, **params)
tab_result, tab_watch = st.tabs(["Result", "Watch it work"], key="km_tab", on_change="rerun")

if tab_result.open and result is not None:
    with tab_result:
        ranked = teach.ranked_labels(result)
        display.show_result(cur, result, key="km", labels=ranked, overlay_mode=overlay_mode,
                            third=(teach.segmented_picture(result),
                                   "Segmented: every pixel replaced by its cluster's colour"))
        info = result.info
        if use_gmm:
            st.markdown(f"**{n_clusters} Gaussians** · mean log-likelihood per pixel {info['log_likelihood']:.2f} · "
                        f"EM {'converged' if info['converged'] else 'stopped before converging'} after "
                        f"{info['n_iter']} iterations")
        else:
            st.markdown(f"**K = {n_clusters}** · inertia {info['inertia']:,.0f} (sum of squared distances of the "
                        f"pixels to their centres) · {info['n_iter']} iterations")
        if info["sampled"]:
            st.caption(f"For speed, the model was fitted on a random sample of {result.params['sample_size']:,} "
                       f"of the {height * width:,} pixels, then every pixel was assigned to its nearest cluster.")
        left, right = st.columns(2)
        with left:
            st.image(viz.colorize(display.labels_for_screen(ranked)), width="stretch",
                     caption="Label view: one colour per cluster, darkest cluster black (untinted in the overlay)")
            st.markdown(teach.cluster_chips(result), unsafe_allow_html=True)
        right.plotly_chart(teach.palette_figure(result), key="km_palette")

        st.markdown("**How many clusters?** The elbow chart fits k-means for K = 1 to 12 and plots the inertia; "
                    "where the curve bends (the elbow), more clusters stop paying off.")
        st.button("Compute the elbow chart", key="km_elbow", icon=":material/show_chart:",
                  on_click=lambda: st.session_state.update(km_show_elbow=True))
        inertias = None
        if st.session_state.get("km_show_elbow"):
            with st.spinner("Fitting k-means for K = 1 to 12…"):
                inertias = teach.elbow_inertias(cur, features=features, spatial_weight=spatial_weight,
                                                random_state=int(random_state))
        if inertias is not None:
            st.plotly_chart(charts.elbow_chart(inertias, chosen=n_clusters), key="km_elbow_chart")
            st.caption(f"Estimated from {teach.ELBOW_SAMPLE:,} randomly sampled pixels (or all of them, if fewer), "
                       "scaled to the whole image"
                       + (" (k-means inertia, also for the Gaussian mixture)." if use_gmm else "."))

if tab_watch.open:
    with tab_watch:
        st.markdown("K-means starts from K centres picked by k-means++, then repeats two steps: **assign** every "
                    "pixel to its nearest centre, **move** every centre to the mean of its pixels. Left: 2,000 "
                    "sampled pixels in feature space, coloured by their cluster at that iteration, with the "
                    "centres (diamonds) and the paths they have travelled. Right: the label image, in the colours "
                    "of the Result tab (darkest cluster black). Press **Play** or drag the slider under the figure.")
        if use_gmm:
            st.info("The Gaussian mixture's EM steps are not recorded: this shows k-means with the same K and "
                    "features.", icon=":material/info:")
        small, small_key, _ = display.watch_copy(cur, "every iteration keeps a label image")
        watch = teach.kmeans_figure(small, small_key, n_clusters=n_clusters, features=features,
                                    spatial_weight=spatial_weight, random_state=int(random_state))
        if watch is not None:
            names = [frame.name for frame in watch.figure.frames]
            display.keep_choice("km_watch_frame", names)
            frame = st.select_slider("Iteration", names, key="km_watch_frame",
                                     help="The iteration the animation below opens at.")
            st.plotly_chart(animations.show_frame(watch.figure, frame), key="km_watch_fig")
            inertia, changed = watch.summaries[frame]
            st.caption(f"Iteration {frame}: inertia {inertia:,.0f}"
                       + ("" if changed is None else f"; {changed:,} pixels changed cluster in this iteration")
                       + f". It stops after {watch.n_steps - 1} iterations, when no pixel changes cluster.")
            if spatial_weight > 0:
                st.caption("The position features are clustered too but not drawn: the view shows the colour "
                           "features only.")
            st.markdown("**Inertia never increases.** Assigning a pixel to its nearest centre can only shorten its "
                        "distance, and the mean is the point with the smallest sum of squared distances to a "
                        "cluster's pixels; so each step lowers the inertia or leaves it unchanged, and k-means "
                        "always stops, though maybe in a local minimum that another random state would avoid.")

display.how_it_works("kmeans")
call_params = ", ".join(f"{key}={value!r}" for key, value in params.items())
display.show_code(gmm if use_gmm else kmeans, call=f"segcore.segment(image, {method!r}, {call_params})")
