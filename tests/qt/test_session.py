"""The per-viewer session: the Train widget publishes its model there and the Reconstruct widget follows it,
whatever the order the widgets were docked in; viewers do not share models."""

from __future__ import annotations

from napari.components import ViewerModel
from napari.utils._proxies import PublicOnlyProxy

from napari_isorecon._qt.shared.session import ModelProvenance, session_for


def test_one_session_per_viewer_behind_naparis_proxy():
    first, second = ViewerModel(), ViewerModel()
    assert session_for(first) is session_for(PublicOnlyProxy(first))  # the proxy napari gives plugins
    assert session_for(first) is not session_for(second)
    seen = []
    session_for(first).model_changed.connect(seen.append)
    model = object()
    session_for(first).publish(model, ModelProvenance("loaded", "/m.pt"))
    assert seen == [model] and session_for(second).model is None
    assert session_for(first).provenance.describe() == "loaded from /m.pt"


def test_reconstruct_widget_docked_first_follows_a_model_loaded_later(viewer, sample_layer, tiny_model_file):
    _, recon = viewer.window.add_plugin_dock_widget("napari-isorecon", "Reconstruct")
    assert "No trained model yet" in recon.model_info.text()
    _, train = viewer.window.add_plugin_dock_widget("napari-isorecon", "Train")
    model = train.load_model_from(tiny_model_file)
    assert model is not None and recon.resolve_model() is model
    assert f"loaded from {tiny_model_file}" in recon.model_info.text() and "z-factor 5" in recon.model_info.text()
