// Module Web Worker that lays out the network graph with dagre (www/vendor/, copied from npm by
// scripts/build-web.sh), so that a large graph never freezes the page.
// Protocol: {id, nodes: [{id, width, height}], edges: [{id, v, w}], options} in;
// {id, nodes: {id: {x, y}}, edges: {id: [{x, y}, …]}, width, height, ms} or {id, error} out.

import { graphlib, layout } from './vendor/dagre.esm.js';

self.onmessage = ({ data: { id, nodes, edges, options } }) => {
  try {
    const start = performance.now();
    const g = new graphlib.Graph({ multigraph: true });
    g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 32, edgesep: 12, marginx: 16, marginy: 16, ...options });
    for (const n of nodes) g.setNode(n.id, { width: n.width, height: n.height });
    for (const e of edges) g.setEdge(e.v, e.w, {}, e.id);
    layout(g);
    const placed = {};
    for (const n of nodes) {
      const { x, y } = g.node(n.id);
      placed[n.id] = { x, y };
    }
    const routes = {};
    for (const e of edges) routes[e.id] = g.edge(e.v, e.w, e.id).points.map(({ x, y }) => ({ x, y }));
    const { width, height } = g.graph();
    self.postMessage({ id, nodes: placed, edges: routes, width, height, ms: performance.now() - start });
  } catch (e) {
    self.postMessage({ id, error: e?.message ?? String(e) });
  }
};
