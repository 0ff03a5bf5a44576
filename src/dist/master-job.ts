/**
 * Preparing a job on the master: what it fetches and ships (distfiles, a Debian source package's files), the job's
 * data with every input registered in the blob index, and the failure a build gets when that goes wrong.
 */
import type { BuildPortInput, BuildResult } from '../build/index.js';
import { fetchDistfiles, type DistfileSpec, type FetchedDistfile } from '../fetch/index.js';
import type { Port } from '../recipe/index.js';
import { inlinePortFiles, jailTarball, portTarball, type BlobIndex } from './blobs.js';
import { PROTOCOL_VERSION, jobPort, type DistJob } from './protocol.js';
import type { DistMasterOptions } from './master.js';

/**
 * What the master fetches and ships with a job: the recipe's distfiles and, for a port built from a Debian source
 * package, the `.dsc` and the files it names (from `debianMirror`'s pool), so a worker finds them in its distfile
 * cache by sha256 and needs no route to the archive for them.
 */
export function jobSources(port: Port, debianMirror: string | undefined): DistfileSpec[] {
  const d = port.debian;
  if (!d || !debianMirror) return [...port.recipe.sources];
  const have = new Set(port.recipe.sources.map((x) => x.sha256));
  return [
    ...port.recipe.sources,
    ...d.files
      .filter((f) => !have.has(f.sha256))
      .map((f) => ({
        url: `${debianMirror.replace(/\/+$/, '')}/${d.directory}/${f.name}`,
        sha256: f.sha256,
        filename: f.name,
      })),
  ];
}

/** A failed build's result, timed from `t0`. */
export function failure(kind: BuildResult['failure'], phase: string, reason: string, t0: number): BuildResult {
  return { ok: false, debs: [], phase, failure: kind, reason, timings: [], wallMs: Date.now() - t0, cpuMs: 0 };
}

/** The master fetches a job's distfiles into its own cache, so workers never need upstream sites. */
export function fetchJobSources(
  o: DistMasterOptions,
  input: BuildPortInput,
  note: (line: string) => void,
): Promise<FetchedDistfile[]> {
  return fetchDistfiles(
    { origin: input.port.origin, sources: jobSources(input.port, o.debianMirror) },
    {
      home: input.home,
      mirrors: o.mirrors,
      debianMirror: o.debianMirror,
      release: o.jail.release,
      log: note,
      ...(input.deadHosts ? { deadHosts: input.deadHosts } : {}),
    },
  );
}

/**
 * A job's data: the jail's tarball (packed once per identity), the port's files (inline when small, else a
 * tarball), the dependency `.deb`s and the distfiles, each registered in `blobs` for workers to fetch by sha256.
 */
export async function jobData(
  o: DistMasterOptions,
  blobs: BlobIndex,
  master: string,
  key: string,
  input: BuildPortInput,
  fetched: readonly FetchedDistfile[],
  log: (line: string) => void,
): Promise<DistJob> {
  const jailFile = await jailTarball(o.home, o.jail, log);
  const files = inlinePortFiles(input.port.dir);
  const [jailRef, portRef, deps, distfiles] = await Promise.all([
    blobs.add(jailFile),
    files ? undefined : blobs.add(await portTarball(o.home, input.port.dir)),
    Promise.all(input.depDebs.map((d) => blobs.add(d))),
    Promise.all(fetched.map((d) => blobs.add(d.path, d.filename))),
  ]);
  const p = input.port;
  return {
    v: PROTOCOL_VERSION,
    key,
    master,
    jail: {
      name: o.jail.name,
      release: o.jail.release,
      arch: o.jail.arch,
      identity: o.jail.identity,
      tarball: jailRef,
    },
    port: jobPort(p, files ? { files } : { tarball: portRef! }),
    identity: input.identity,
    options: input.options,
    deps,
    distfiles,
    kilnRun: input.kilnRun,
    kilnSonames: [...(input.kilnSonames ?? new Map()).entries()],
    jobs: input.jobs,
    withTests: input.withTests ?? false,
    limits: input.limits,
    sourceDateEpoch: input.sourceDateEpoch,
    ...(input.layers?.shared?.length ? { sharedLayer: [...input.layers.shared] } : {}),
  };
}
