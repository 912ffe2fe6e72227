// Live view: the camera's live playlist (a sliding window of its newest segments), played through hls.js.
import { api } from "../api.js";
import { playHls } from "../player.js";
import { cameraSelect, emptyState, errorState, h, loading, statusPill } from "../ui.js";

export function renderLive(root, { arg }) {
  const body = h("div", { class: "card" }, loading());
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Live view")), body);
  let stop = () => {};

  function show(camera) {
    const video = h("video", { class: "video", controls: true, muted: true, playsinline: true, autoplay: true });
    const notice = h("p", { class: "notice" }, "Waiting for video… Live video appears while the camera records.");
    video.addEventListener("playing", () => {
      notice.hidden = true;
    });
    body.replaceChildren(
      h("div", { class: "toolbar" }, body.querySelector("select"), statusPill(camera.enabled ? camera.status : "disabled")),
      h("div", { class: "player" }, video, notice),
    );
    stop = playHls(video, `/v2/hls/${encodeURIComponent(camera.id)}/live.m3u8`, {
      onError: (message) => {
        notice.textContent = message;
        notice.hidden = false;
      },
    });
  }

  async function load() {
    try {
      const cameras = await api("cameras");
      if (!cameras.length) {
        body.replaceChildren(emptyState("No cameras yet", "Add a camera on the Cameras page first."));
        return;
      }
      const current = cameras.find((c) => c.id === arg) || cameras[0];
      const select = cameraSelect(cameras, { selected: current.id });
      select.addEventListener("change", () => {
        window.location.hash = `#/live/${encodeURIComponent(select.value)}`;
      });
      body.replaceChildren(select);
      show(current);
    } catch (err) {
      if (err.status !== 401) body.replaceChildren(errorState(err, load));
    }
  }

  load();
  return () => stop();
}
