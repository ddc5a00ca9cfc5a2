"""The degradation preview: the degradation that makes the stage-2 training pairs (the declared serial
sections by default, or G_hl's learned kernel path; ``IsoModel.pair_degradation``) applied to a lateral (xy)
crop, beside a real axial (xz) crop.

If the degradation is right, the two look alike: same blur and texture along z. Both are
drawn with the same grey levels and stretched by the z-factor so that they have their physical
aspect ratio.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget


def to_grey8(image: np.ndarray, low: float, high: float) -> np.ndarray:
    scaled = (np.asarray(image, dtype=np.float32) - low) / max(high - low, 1e-12)
    return np.ascontiguousarray((np.clip(scaled, 0, 1) * 255).astype(np.uint8))


def common_range(*images: np.ndarray) -> tuple[float, float]:
    values = np.concatenate([np.asarray(i, dtype=np.float32).ravel() for i in images])
    low, high = np.percentile(values, (0.5, 99.5))
    return float(low), float(high)


def pixmap_of(grey: np.ndarray, width: int, height: int) -> QPixmap:
    rows, cols = grey.shape
    image = QImage(grey.data, cols, rows, cols, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(image).scaled(width, height, Qt.AspectRatioMode.IgnoreAspectRatio,
                                           Qt.TransformationMode.FastTransformation)


class DegradationPreviewPane(QWidget):
    """The widget showing a lateral patch and its learned degradation, two captioned images;
    :meth:`show_preview` takes a core :class:`~napari_isorecon.core.events.DegradationPreview` event."""

    def __init__(self, parent=None, width: int = 280):
        super().__init__(parent)
        self._width = width
        self.step: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.degraded_image = QLabel()
        self.degraded_image.setToolTip("The degradation that makes the training pairs of stage 2 (the declared "
                                       "sections, or the learned one) applied to a lateral (xy) crop.")
        self.axial_image = QLabel()
        self.axial_image.setToolTip("A real axial (xz) crop of the same volume, z vertical.")
        for widget in (self.caption, self.degraded_image, self.axial_image):
            layout.addWidget(widget)
        for image in (self.degraded_image, self.axial_image):
            image.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.clear()

    def _set_images_visible(self, visible: bool) -> None:
        for widget in (self.degraded_image, self.axial_image):
            widget.setVisible(visible)

    def clear(self) -> None:
        self.step = None
        self.caption.setText("Degradation preview: appears while training.")
        self._set_images_visible(False)

    def show_preview(self, event, z_factor: float) -> None:
        degraded, axial = np.asarray(event.degraded), np.asarray(event.axial)
        low, high = common_range(degraded, axial)
        room = self.width() if self.width() > 100 else self._width
        width = min(self._width, room, max(degraded.shape[1], axial.shape[1]) * 2)
        for label, image in ((self.degraded_image, degraded), (self.axial_image, axial)):
            rows, cols = image.shape
            height = max(1, round(rows * z_factor * width / cols))
            label.setPixmap(pixmap_of(to_grey8(image, low, high), width, height))
            label.setFixedSize(width, height)
        self.step = event.step
        self.caption.setText(f"Degradation preview, step {event.step}: an xy crop degraded as for the "
                             "training pairs above, a real xz crop below. They should look alike.")
        self._set_images_visible(True)
