// The alerts page: the channel form shows only the fields of the kind
// picked (without this script every kind's fields show, and the server
// reads only the picked one's).
"use strict";

(() => {
  const kind = document.querySelector("#channel-kind");
  if (!kind) return;
  const show = () => {
    for (const fields of document.querySelectorAll("[data-channel-kind]")) {
      fields.hidden = fields.dataset.channelKind !== kind.value;
    }
  };
  kind.addEventListener("change", show);
  show();
})();
