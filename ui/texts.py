"""What the pages say about each method: steps, maths, strengths and weaknesses.

Kept apart from the page code so the wording can be reviewed in one place.
The strengths and weaknesses follow the cheatsheet's comparison table.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MethodText:
    title: str
    idea: str
    steps: list[str]
    latex: list[str] = field(default_factory=list)
    strengths: list[str] = field(default_factory=list)
    weaknesses: list[str] = field(default_factory=list)
    try_this: list[str] = field(default_factory=list)


TEXTS: dict[str, MethodText] = {
    "threshold": MethodText(
        title="Thresholding",
        idea="Every pixel is compared with one number, the threshold T: brighter pixels are foreground.",
        steps=[
            "Convert the image to gray levels 0–255 (luma: 0.299 R + 0.587 G + 0.114 B).",
            "Choose T: by hand, or automatically from the histogram (Otsu, Li, triangle...), "
            "or separately for every neighbourhood (local methods).",
            "Foreground = pixels with gray value > T (or ≤ T for dark objects).",
        ],
        latex=[
            r"\text{mask}(x, y) = \begin{cases}1 & I(x, y) > T\\ 0 & \text{otherwise}\end{cases}",
            r"T_{\text{Otsu}} = \arg\max_t \; \sigma_B^2(t) = \omega_0(t)\,\omega_1(t)\,\big(\mu_1(t) - \mu_0(t)\big)^2",
        ],
        strengths=["Simple, fast and computationally cheap: one comparison per pixel.",
                   "Works very well when objects and background have clearly different brightness."],
        weaknesses=["Sensitive to noise: isolated pixels flip to the wrong side.",
                    "Needs good contrast; a single global T fails under uneven illumination.",
                    "Finding the best T is hard in general; each automatic method assumes a histogram shape.",
                    "Touching objects merge into one region."],
        try_this=["Pick the sample 'Synthetic, uneven light' and compare Otsu with a local method.",
                  "Open 'Try all' to see how much automatic thresholds disagree on one histogram."],
    ),
    "region_growing": MethodText(
        title="Region growing",
        idea="Start from seed pixels and keep adding neighbours that are similar enough.",
        steps=[
            "Select seed pixels (click on the image, type coordinates, or let the app pick them).",
            "Examine the neighbours of the region (4 or 8 of them per pixel).",
            "Add a neighbour if it is similar enough: within the tolerance of the adjacent region pixel "
            "('neighbor'), of the seed ('seed') or of the region's mean ('mean').",
            "Repeat until no more pixels can be added.",
        ],
        latex=[r"p \in R \;\wedge\; q \in N(p) \;\wedge\; |I(q) - I(p)| \le \tau \;\Rightarrow\; q \in R"],
        strengths=["Groups pixels by a similarity criterion you choose (intensity, colour).",
                   "Regions are connected by construction; each seed gives its own region."],
        weaknesses=["Sensitive to noise: one outlier pixel can stop or leak a region.",
                    "Needs careful choice of seed points and of the tolerance.",
                    "The 'neighbor' criterion can leak along smooth gradients into the background.",
                    "Can be computationally expensive with complex criteria."],
        try_this=["Click one seed inside an object and slide the tolerance up until it leaks.",
                  "Compare the three criteria on the same seed in 'Watch it work'."],
    ),
    "kmeans": MethodText(
        title="K-means clustering",
        idea="Treat every pixel as a point in colour space and split the points into K groups.",
        steps=[
            "Choose the number of clusters K (the number of segments).",
            "Initialise K cluster centres (k-means++ picks spread-out pixels).",
            "Assign each pixel to the nearest centre (by colour, optionally also position).",
            "Recompute each centre as the mean of its pixels.",
            "Repeat the last two steps until the assignments stop changing.",
        ],
        latex=[r"\min_{c_1..c_K} \sum_{k=1}^{K} \sum_{p \in C_k} \lVert x_p - c_k \rVert^2"],
        strengths=["Relatively simple; works with several features at once (colour, position).",
                   "No training data needed."],
        weaknesses=["K must be chosen in advance (the elbow chart helps).",
                    "Sensitive to the initialisation: different seeds can end in different minima.",
                    "Assumes round (spherical) clusters of similar size; a Gaussian mixture relaxes this.",
                    "Clusters are not regions: one cluster can be scattered over the image."],
        try_this=["Raise K on a colour photo and watch the segmented image gain colours.",
                  "Add a spatial weight to make clusters more compact."],
    ),
    "unet": MethodText(
        title="U-Net",
        idea="A convolutional network predicts, for every pixel, the probability that it belongs to an object.",
        steps=[
            "Encoder: convolutions and downsampling shrink the image while the features grow "
            "more abstract (context).",
            "Bottleneck: the coarsest, most abstract representation.",
            "Decoder: upsampling brings the maps back to full resolution.",
            "Skip connections hand the encoder's fine detail to the decoder at each level.",
            "A final 1×1 convolution and a sigmoid give the probability map; a threshold makes the mask.",
        ],
        latex=[r"\mathcal{L} = \underbrace{-\tfrac{1}{N}\sum_i \big[g_i \log p_i + (1-g_i)\log(1-p_i)\big]}_{\text{cross-entropy}}"
               r" + \underbrace{1 - \frac{2\sum_i p_i g_i}{\sum_i p_i + \sum_i g_i}}_{\text{Dice loss}}"],
        strengths=["High accuracy; robust to noise and uneven light it has seen in training.",
                   "Learns complex features end to end from examples."],
        weaknesses=["Needs a large amount of labelled training data.",
                    "Computationally expensive to train (and slower to run than a threshold).",
                    "Hard to interpret; fails silently on images unlike its training set."],
        try_this=["Compare it with Otsu on the IHC sample, then on the uneven-light synthetic image.",
                  "Lower the probability threshold and watch small nuclei appear."],
    ),
    "edges": MethodText(
        title="Edge-based segmentation (Canny)",
        idea="Find the boundaries where intensity changes sharply, then fill what they enclose.",
        steps=["Smooth the image (Gaussian) to suppress noise.",
               "Compute the gradient; keep thin local maxima (non-maximum suppression).",
               "Hysteresis: keep strong edges and weak edges connected to strong ones.",
               "Close small gaps, fill enclosed regions, drop tiny ones."],
        latex=[r"\lVert \nabla I \rVert = \sqrt{(\partial_x I)^2 + (\partial_y I)^2}"],
        strengths=["Uses boundaries, not absolute brightness: tolerant of smooth illumination changes."],
        weaknesses=["Broken contours do not enclose anything; noise creates false edges.",
                    "Touching objects share an edge and may not separate."],
    ),
    "watershed": MethodText(
        title="Watershed (instances)",
        idea="Split touching objects of a mask by flooding its distance map from one marker per object.",
        steps=["Start from a foreground mask (Otsu by default).",
               "Distance transform: each foreground pixel gets its distance to the background.",
               "Markers: local maxima of the distance, roughly one per object centre.",
               "Flood from the markers; where floods meet, draw the dividing line."],
        latex=[r"D(p) = \min_{q \notin F} \lVert p - q \rVert"],
        strengths=["Turns a semantic mask into instances and counts objects.",
                   "Separates touching round objects well."],
        weaknesses=["Over-splits elongated or irregular objects; min distance needs tuning.",
                    "Only as good as the mask it starts from."],
    ),
}

METRICS_TEXT = {
    "iou": ("IoU (Jaccard index)", r"\mathrm{IoU} = \frac{|P \cap G|}{|P \cup G|}",
            "Area of overlap divided by area of union; 1 is perfect, 0 is no overlap."),
    "dice": ("Dice coefficient", r"\mathrm{Dice} = \frac{2\,|P \cap G|}{|P| + |G|} = \frac{2\,\mathrm{IoU}}{1 + \mathrm{IoU}}",
             "Twice the overlap over the total size; always at least the IoU."),
    "pixel_accuracy": ("Pixel accuracy", r"\mathrm{Acc} = \frac{\#\{\text{pixels labelled correctly}\}}{\#\{\text{pixels}\}}",
                       "Share of pixels labelled correctly, background included — misleading when objects are small."),
}


# How a zip of image/mask pairs is laid out (segcore.datasets), said the same way on every page that reads one.
ZIP_LAYOUT = ("Layout: a zip with `images/` and `masks/` folders paired by file name without extension "
              "(`images/cell1.tif` ↔ `masks/cell1.png`), or `name.png` with `name_mask.png` side by side. "
              "Masks: any non-zero pixel is foreground. Other files are skipped and listed.")


def format_seconds(value: float) -> str:
    """A run time for people: '3.2 ms', '480 ms', '1.25 s'."""
    if value < 0.01:
        return f"{value * 1000:.1f} ms"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
