"""Make the screenshots in docs/images/ from a real run of the plugin (nothing is drawn by hand).

    xvfb-run -a -s "-screen 0 1920x1300x24" python docs/make_screenshots.py     # headless (Linux)
    python docs/make_screenshots.py                        # on a desktop
    python docs/make_screenshots.py --seconds 40 --out docs/images

It opens a napari viewer with the shipped anisotropic EM sample, docks the Train and Reconstruct
widgets, trains with the "fast, CPU" preset for ``--seconds`` of wall-clock budget, and saves:

- ``train_settings.png``: the whole window before training, the Train dock at the top of its form (the layer,
  its z-factor, the acquisition and the budget);
- ``train_widget.png``: the whole window during training (stage 2), with the live loss curves, the
  learned axial kernel, the degradation preview and the progress bar (the Train dock scrolled to them);
- ``side_by_side.png``: after reconstruction and "Compare side by side": cubic interpolation above the
  reconstruction, both in an xz plane (z vertical), at the same zoom;
- ``uncertainty.png``: the reconstruction again with the *Uncertainty map* option: the result with
  "<layer> uncertainty" (inferno, additive) over it in an xz plane, beside the learned-kernel plot;
- ``hidden_check.png``: the Train widget after "Check on hidden sections" with the same budget: the
  verdict, the summary table and the figure of the worst and the median hidden section;
- ``compare_check.png``: the Train widget's compare panel alone (at the dock's default width) after
  "Compare on hidden sections" of serial sections and learn, each with the same budget: the recommendation
  and the table of the pair.
  ``--only compare_check`` makes just this one (no training or reconstruction before it).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from qtpy.QtWidgets import QApplication

PLUGIN = "napari-isorecon"


def wait_until(app, condition, timeout: float, step: float = 0.05) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError(f"condition not met within {timeout} s")
        app.processEvents()
        time.sleep(step)


def settle(app, seconds: float = 0.5) -> None:
    """Let Qt lay out and paint (animations of notifications included) before a screenshot."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def close_toasts(main_window) -> None:
    """Close napari's notification pop-ups so they do not cover the canvas in the picture."""
    from qtpy.QtWidgets import QWidget

    for widget in main_window.findChildren(QWidget):
        if type(widget).__name__ == "NapariQtNotification":
            widget.close()


def save(viewer, main_window, path: Path) -> None:
    from imageio.v3 import imwrite

    close_toasts(main_window)
    QApplication.instance().processEvents()
    image = viewer.screenshot(canvas_only=False, flash=False)
    imwrite(path, image)
    print(f"wrote {path} ({image.shape[1]} x {image.shape[0]})")


def scroll_to(dock_widget, child) -> None:
    """Scroll a dock widget's body so that ``child`` is at the top of the visible part."""
    area = dock_widget._scroll
    top = child.mapTo(area.widget(), child.rect().topLeft()).y()
    area.verticalScrollBar().setValue(max(0, top - 6))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="training budget (wall clock)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images")
    parser.add_argument("--size", type=int, nargs=2, default=(1600, 1240), metavar=("W", "H"))
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch CPU threads (1 is much faster on a busy 2-core machine)")
    parser.add_argument("--only", choices=("compare_check",), default=None, help="make only this screenshot")
    args = parser.parse_args(argv)
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    args.out.mkdir(parents=True, exist_ok=True)

    import napari
    from qtpy.QtCore import Qt

    viewer = napari.Viewer(title="napari-isorecon", show=True)
    app = QApplication.instance()
    viewer.window.resize(*args.size)
    (layer,) = viewer.open_sample(PLUGIN, "anisotropic_em")
    train_dock, train = viewer.window.add_plugin_dock_widget(PLUGIN, "Train")
    recon_dock, recon = viewer.window.add_plugin_dock_widget(PLUGIN, "Reconstruct")
    train_dock.parent().resizeDocks([train_dock, recon_dock], [900, 330], Qt.Orientation.Vertical)
    viewer.dims.set_point(0, layer.extent.world[:, 0].mean())
    settle(app)

    train.settings.device = "cpu"
    train.settings.budget_unit = "minutes"
    train.settings.budget = args.seconds / 60
    train.settings.preview_every = 50
    if args.only == "compare_check":
        recon_dock.hide()
        compare_screenshot(app, viewer, train, args)
        viewer.close()
        return
    train._scroll.verticalScrollBar().setValue(0)  # the form's top: layer, z-factor, acquisition, budget
    settle(app, 1.0)
    save(viewer, train.window(), args.out / "train_settings.png")
    train.start_button.click()

    # in stage 2 (70% of the budget): curves of both stages, the kernel and a degradation preview are shown
    wait_until(app, lambda: train.job_controller.job is None or (train.progress_fraction >= 0.7 and train.preview.step),
               timeout=20 * args.seconds)
    scroll_to(train, train.continue_box)
    settle(app, 1.0)
    save(viewer, train.window(), args.out / "train_widget.png")

    wait_until(app, lambda: train.job_controller.job is None, timeout=30 * args.seconds)
    recon.run_button.click()
    wait_until(app, lambda: recon.job_controller.job is None and recon.compare_button.isEnabled(), timeout=600)
    recon.compare_button.click()
    settle(app, 1.5)
    save(viewer, train.window(), args.out / "side_by_side.png")

    recon.end_comparison()
    recon.settings.uncertainty = True
    recon.run_button.click()
    wait_until(app, lambda: recon.job_controller.job is None and "uncertainty" in recon.result_layers, timeout=600)
    shown = {id(recon.result_layers[part]) for part in ("isotropic", "uncertainty")}
    for other in viewer.layers:
        other.visible = id(getattr(other, "__wrapped__", other)) in shown
    viewer.dims.order = (1, 0, 2)  # an xz plane: z vertical
    viewer.dims.set_point(1, layer.extent.world[:, 1].mean())
    viewer.reset_view()
    scroll_to(train, train.kernel_plot)
    settle(app, 1.5)
    save(viewer, train.window(), args.out / "uncertainty.png")
    viewer.dims.order = (0, 1, 2)
    for other in viewer.layers:
        other.visible = True

    train.hidden_check.button.click()
    wait_until(app, lambda: train.hidden_check.job_controller.job is None, timeout=30 * args.seconds)
    recon_dock.hide()  # the Train dock takes the whole height: verdict, table and figure in view
    settle(app, 1.0)
    scroll_to(train, train.hidden_check)
    settle(app, 1.0)
    save(viewer, train.window(), args.out / "hidden_check.png")
    compare_screenshot(app, viewer, train, args)
    viewer.close()


def compare_screenshot(app, viewer, train, args) -> None:
    """Compare serial sections and learn on the sample's hidden sections; grab the compare panel's own pixels,
    at the width napari gave the dock (the Train widget fits it: tests/qt/test_dock_width.py)."""
    panel = train.compare_check
    for name, box in panel.boxes.items():
        box.setChecked(name in ("serial-sections", "learn"))
    panel.button.click()
    wait_until(app, lambda: panel.job_controller.job is None, timeout=60 * args.seconds)
    settle(app, 1.0)
    scroll_to(train, panel)
    close_toasts(train.window())
    settle(app, 1.0)
    path = args.out / "compare_check.png"
    panel.grab().save(str(path))
    print(f"wrote {path} ({panel.width()} x {panel.height()})")


if __name__ == "__main__":
    main()
