import type Database from 'better-sqlite3';
import { WatchEventType } from '@kern/sdk';

export interface ObjectRow {
  namespace: string;
  name: string;
  data: string;
}

export interface EventRow {
  revision: number;
  type: WatchEventType;
  kind: string;
  namespace: string;
  data: string;
  /** For an update: the labels before it, as JSON; null otherwise. */
  previousLabels: string | null;
}

type Statement<P extends unknown[] | object, R = unknown> = Database.Statement<P, R>;

/** A `meta` row: read it, write it. */
export interface MetaStatements {
  read: Statement<[], number>;
  write: Statement<[number]>;
}

type Range = { after: number; upTo: number };
type ListAfter = { kind: string; ns: string; name: string };

/** Every SQL statement the store runs, prepared once per connection. */
export interface Statements {
  /** The newest revision: the newest history row, which compaction always keeps. */
  revision: Statement<[], number>;
  compacted: MetaStatements;
  /** Changes when another connection commits (cheap: reads no table). */
  dataVersion: Statement<[], number>;

  getObject: Statement<[string, string, string], string>;
  /** Inserts nothing (changes = 0) when the key is taken. */
  insertObject: Statement<[string, string, string, number, string]>;
  updateObject: Statement<[number, string, string, string, string]>;
  deleteObject: Statement<[string, string, string]>;

  /** One kind in every namespace, ordered by (namespace, name), optionally after a position. */
  listAll: Statement<{ kind: string }, ObjectRow>;
  listAllAfter: Statement<ListAfter, ObjectRow>;
  /** One kind in one namespace, ordered by name, optionally after a name. */
  listNamespace: Statement<{ kind: string; ns: string }, ObjectRow>;
  listNamespaceAfter: Statement<ListAfter, ObjectRow>;

  insertEvent: Statement<[number, WatchEventType, string, string, string, string, string | null]>;
  /** History in (after, upTo], in revision order, narrowed by kind and/or namespace. */
  eventsAll: Statement<Range, EventRow>;
  eventsOfKind: Statement<Range & { kind: string }, EventRow>;
  eventsOfNamespace: Statement<Range & { ns: string }, EventRow>;
  eventsOfKindInNamespace: Statement<Range & { kind: string; ns: string }, EventRow>;
  /** Drops history at and below a revision, except the newest row. */
  deleteEventsThrough: Statement<[number]>;
}

export function prepareStatements(db: Database.Database): Statements {
  const meta = (key: 'compacted'): MetaStatements => ({
    read: db.prepare<[], number>(`SELECT value FROM meta WHERE key = '${key}'`).pluck(),
    write: db.prepare<[number]>(`UPDATE meta SET value = ? WHERE key = '${key}'`),
  });
  const events = 'SELECT revision, type, kind, namespace, data, prev_labels AS previousLabels FROM events WHERE revision > @after AND revision <= @upTo';
  const objects = 'SELECT namespace, name, data FROM objects WHERE kind = @kind';
  return {
    revision: db.prepare<[], number>('SELECT coalesce(max(revision), 0) FROM events').pluck(),
    compacted: meta('compacted'),
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),

    getObject: db.prepare<[string, string, string], string>('SELECT data FROM objects WHERE kind = ? AND namespace = ? AND name = ?').pluck(),
    insertObject: db.prepare('INSERT INTO objects (kind, namespace, name, rv, data) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING'),
    updateObject: db.prepare('UPDATE objects SET rv = ?, data = ? WHERE kind = ? AND namespace = ? AND name = ?'),
    deleteObject: db.prepare('DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?'),

    listAll: db.prepare(`${objects} ORDER BY namespace, name`),
    listAllAfter: db.prepare(`${objects} AND (namespace, name) > (@ns, @name) ORDER BY namespace, name`),
    listNamespace: db.prepare(`${objects} AND namespace = @ns ORDER BY name`),
    listNamespaceAfter: db.prepare(`${objects} AND namespace = @ns AND name > @name ORDER BY name`),

    insertEvent: db.prepare('INSERT INTO events (revision, type, kind, namespace, name, data, prev_labels) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    eventsAll: db.prepare(`${events} ORDER BY revision`),
    eventsOfKind: db.prepare(`${events} AND kind = @kind ORDER BY revision`),
    eventsOfNamespace: db.prepare(`${events} AND namespace = @ns ORDER BY revision`),
    eventsOfKindInNamespace: db.prepare(`${events} AND kind = @kind AND namespace = @ns ORDER BY revision`),
    deleteEventsThrough: db.prepare('DELETE FROM events WHERE revision <= ? AND revision < (SELECT max(revision) FROM events)'),
  } as Statements;
}
