type Listener = (topic: string | null) => void;

const listeners = new Set<Listener>();
let selected: string | null = readHash();

// The filter sits in the URL fragment, so a filtered view survives a reload and can be shared; the fragment never
// reaches the server's logs.
function readHash(): string | null {
  const topic = new URLSearchParams(location.hash.slice(1)).get('topic');
  return topic === null || topic === '' ? null : topic;
}

/** The topic the whole page is filtered to, or null for all topics. */
export function selectedTopic(): string | null {
  return selected;
}

export function selectTopic(topic: string | null): void {
  if (topic === selected) return;
  selected = topic;
  const hash = topic === null ? '' : `#${new URLSearchParams({ topic }).toString()}`;
  history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
  for (const listener of listeners) listener(topic);
}

export function onTopicChange(listener: Listener): void {
  listeners.add(listener);
}

window.addEventListener('hashchange', () => {
  // Other fragments (an in-page link) say nothing about the filter.
  if (location.hash === '' || location.hash.startsWith('#topic=')) selectTopic(readHash());
});
