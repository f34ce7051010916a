// Long jobs on the worker pool: one at a time, each with a progress bar, the time left and a Cancel
// button in its view. Starting a job cancels the one running.

const seconds = (ms) => (ms < 60_000 ? `${Math.ceil(ms / 1000)} s` : `${Math.floor(ms / 60_000)} min ${Math.ceil((ms % 60_000) / 1000)} s`);

export class Jobs {
  #running = null; // {controller, done}

  /**
   * Runs `work(signal, onProgress)` showing its progress in `box` (an element the view owns), and resolves
   * to its result, or to null when it was cancelled. `what` names the job ("Top-9 of conv1").
   */
  async run(box, what, work) {
    if (this.#running) {
      this.#running.controller.abort();
      await this.#running.done.catch(() => {});
    }
    const controller = new AbortController();
    const bar = Object.assign(document.createElement('progress'), { max: 1, value: 0 });
    const text = document.createElement('span');
    const cancel = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Cancel' });
    cancel.onclick = () => controller.abort();
    text.textContent = `${what}: starting…`;
    box.replaceChildren(bar, ' ', text, ' ', cancel);
    box.dataset.state = 'running';
    box.hidden = false;
    const start = performance.now();
    let last = 0;
    const onProgress = ({ done, total, elapsedMs, etaMs }) => {
      bar.max = total;
      bar.value = done;
      // Text at most 10 times a second: the bar itself is cheap.
      const now = performance.now();
      if (done < total && now - last < 100) return;
      last = now;
      text.textContent = `${what}: ${done} of ${total}, ${seconds(elapsedMs)} so far`
        + (done < total ? `, about ${seconds(etaMs)} left` : '');
    };
    const done = work(controller.signal, onProgress);
    const job = { controller, done };
    this.#running = job;
    try {
      const result = await done;
      text.textContent = `${what}: done in ${seconds(performance.now() - start)}.`;
      box.dataset.state = 'done';
      return result;
    } catch (e) {
      if (e?.name !== 'AbortError') {
        box.dataset.state = 'failed';
        text.textContent = `${what}: failed.`;
        throw e;
      }
      text.textContent = `${what}: cancelled.`;
      box.dataset.state = 'cancelled';
      return null;
    } finally {
      cancel.remove();
      if (this.#running === job) this.#running = null;
    }
  }

  cancel() {
    this.#running?.controller.abort();
  }
}
