// Run by test/e2e's TestNodeClient: node informer.mjs <server URL> <namespace>.
// An informer on the namespace's pods, then a create, the client's default
// patch (a JSON patch) and a delete through the typed API. Every informer
// event and every write's answer is printed as one JSON line, for the Go
// test to compare.
import * as k8s from '@kubernetes/client-node';

const [server, namespace] = process.argv.slice(2);
const kc = new k8s.KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'watchcached', server, skipTLSVerify: true }],
  users: [{ name: 'anonymous' }],
  contexts: [{ name: 'test', cluster: 'watchcached', user: 'anonymous' }],
  currentContext: 'test',
});
const api = kc.makeApiClient(k8s.CoreV1Api);

const print = (kind, pod) =>
  console.log(JSON.stringify({
    kind, name: pod.metadata.name, rv: pod.metadata.resourceVersion,
    labels: pod.metadata.labels ?? {},
  }));

// waiters are resolved by informer events in arrival order.
const seen = [];
const waiters = [];
function record(kind, pod) {
  print(kind, pod);
  seen.push({ kind, rv: pod.metadata.resourceVersion });
  for (const w of waiters.splice(0)) w();
}
function waitFor(kind, rv) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${kind} at RV ${rv} within 20s`)), 20000);
    const check = () => {
      if (seen.some((e) => e.kind === kind && e.rv === rv)) {
        clearTimeout(timer);
        resolve();
      } else {
        waiters.push(check);
      }
    };
    check();
  });
}

const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${namespace}/pods`,
  () => api.listNamespacedPod({ namespace }));
informer.on(k8s.ADD, (pod) => record('ADDED', pod));
informer.on(k8s.UPDATE, (pod) => record('MODIFIED', pod));
informer.on(k8s.DELETE, (pod) => record('DELETED', pod));
let stopping = false; // stopping aborts the watch, which is reported as an error
informer.on(k8s.ERROR, (err) => {
  if (stopping) return;
  console.error('informer error:', err);
  process.exit(2);
});

async function main() {
  await informer.start();
  const created = await api.createNamespacedPod({
    namespace,
    body: { metadata: { name: 'js-pod' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  });
  print('create', created);
  await waitFor('ADDED', created.metadata.resourceVersion);
  const patched = await api.patchNamespacedPod({
    name: 'js-pod', namespace,
    body: [{ op: 'add', path: '/metadata/labels', value: { patched: 'json-patch' } }],
  });
  print('patch', patched);
  await waitFor('MODIFIED', patched.metadata.resourceVersion);
  const deleted = await api.deleteNamespacedPod({ name: 'js-pod', namespace });
  print('delete', deleted);
  await waitFor('DELETED', deleted.metadata.resourceVersion);
  stopping = true;
  await informer.stop();
}

main().then(() => process.exit(0), (err) => {
  console.error('failed:', err?.body ?? err);
  process.exit(1);
});
