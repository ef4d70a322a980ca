// Where the app connects: the node's RPC (WebSocket), the worker (this page's origin unless set)
// and the worker's keys. URL parameters `?rpc=` and `?worker=` override the stored values.
import { useState } from 'react';
import { Field } from '../ui';

export interface Settings {
  node: string;
  worker: string;
  apiKey: string;
  adminKey: string;
}

export function settings(): Settings {
  const q = new URLSearchParams(location.search);
  return {
    node: q.get('rpc') ?? localStorage.getItem('provena.node') ?? `ws://${location.hostname || '127.0.0.1'}:9944`,
    worker: q.get('worker') ?? localStorage.getItem('provena.worker') ?? '',
    apiKey: sessionStorage.getItem('provena.apiKey') ?? '',
    adminKey: sessionStorage.getItem('provena.adminKey') ?? '',
  };
}

export function Settings() {
  const s = settings();
  const [node, setNode] = useState(s.node);
  const [worker, setWorker] = useState(s.worker);
  const [apiKey, setApiKey] = useState(s.apiKey);
  const [adminKey, setAdminKey] = useState(s.adminKey);
  const save = () => {
    localStorage.setItem('provena.node', node.trim());
    localStorage.setItem('provena.worker', worker.trim().replace(/\/$/, ''));
    sessionStorage.setItem('provena.apiKey', apiKey);
    sessionStorage.setItem('provena.adminKey', adminKey);
    const url = new URL(location.href);
    url.search = '';
    location.href = url.toString();
    location.reload();
  };
  return (
    <section>
      <h1>Settings</h1>
      <Field label="Node RPC (WebSocket)" value={node} onChange={setNode} hint="e.g. ws://127.0.0.1:9944" />
      <Field label="Inference worker" value={worker} onChange={setWorker} hint="Empty: the server this page came from." />
      <Field label="Worker API key" type="password" value={apiKey} onChange={setApiKey} hint="Only if the worker was started with --api-key; kept for this tab only." />
      <Field label="Worker admin key" type="password" value={adminKey} onChange={setAdminKey} hint="Fine-tuning jobs need the worker's --admin-key; kept for this tab only." />
      <button type="button" className="primary" onClick={save}>
        Save and reconnect
      </button>
    </section>
  );
}
