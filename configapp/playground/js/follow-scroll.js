// Keeping a growing log in view: runs in the page, touches only the scroller and the button
// it is given. followScroll(scroller, jumpButton) -> { follow(), reset() }.
//
// While the reader is at the bottom, new content keeps the bottom in view. Once they scroll
// up to read, it stays where they are and "Jump to latest" appears; going back to the
// bottom (or pressing the button) follows again.

const NEAR_BOTTOM_PX = 48;

export function followScroll(scroller, jumpButton) {
  let following = true;
  let programmatic = false;

  const atBottom = () =>
    scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight <= NEAR_BOTTOM_PX;

  function toBottom() {
    programmatic = true;
    scroller.scrollTop = scroller.scrollHeight;
    requestAnimationFrame(() => { programmatic = false; });
  }

  function setFollowing(on) {
    following = on;
    jumpButton.hidden = on;
  }

  scroller.addEventListener("scroll", () => {
    if (programmatic) return;
    setFollowing(atBottom());
  }, { passive: true });
  // A wheel or touch upward is the reader's wish even while content is still arriving.
  scroller.addEventListener("wheel", (event) => {
    if (event.deltaY < 0) setFollowing(false);
  }, { passive: true });

  jumpButton.addEventListener("click", () => {
    setFollowing(true);
    toBottom();
  });
  jumpButton.hidden = true;
  // The log's own size changes too (a resized window, the system prompt opened).
  new ResizeObserver(() => { if (following) toBottom(); }).observe(scroller);

  return {
    /** Call after content was added: scrolls down if the reader is following. */
    follow() {
      if (following) toBottom();
      else jumpButton.hidden = false;
    },
    /** A new or reloaded conversation: follow from the bottom again. */
    reset() {
      setFollowing(true);
      toBottom();
    },
  };
}
