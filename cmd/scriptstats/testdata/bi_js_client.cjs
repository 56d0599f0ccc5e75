// Runs queries as a BI tool built on the official ClickHouse JS client
// (@clickhouse/client, over HTTP) would, for cmd/scriptstats/bi_clients_test.go.
//
// Input (stdin, JSON): {module, url, username, password, database, cases}
// where module is the path of the installed @clickhouse/client and each case
// is {id, sql, settings, compression, command, column, session}. Output
// (stdout): one JSON line per case, {id, rows, value, code, message}: the
// rows read (every row parsed), the value of `column` in the first row, or
// the server's error code and message.
"use strict";

async function main() {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const plan = JSON.parse(input);
  const { createClient } = require(plan.module);
  const clients = new Map();
  const clientFor = (compression, session) => {
    const key = `${compression}/${session}`;
    if (!clients.has(key)) {
      clients.set(
        key,
        createClient({
          // One HTTP session, as Tableau's connector opens for its Initial SQL.
          session_id: session ? `scriptstats-bi-test-${process.pid}` : undefined,
          url: plan.url,
          username: plan.username,
          password: plan.password,
          database: plan.database,
          application: "scriptstats-bi-test",
          // Response compression makes the client send
          // enable_http_compression=1 with every query.
          compression: { response: compression, request: false },
          request_timeout: 60_000,
        }),
      );
    }
    return clients.get(key);
  };
  for (const c of plan.cases) {
    const out = { id: c.id, rows: 0 };
    try {
      const client = clientFor(Boolean(c.compression), Boolean(c.session));
      if (c.command) {
        await client.command({ query: c.sql, clickhouse_settings: c.settings || {} });
      } else {
        const rs = await client.query({
          query: c.sql,
          format: "JSONEachRow",
          clickhouse_settings: c.settings || {},
        });
        const rows = await rs.json();
        out.rows = rows.length;
        if (c.column && rows.length > 0) out.value = String(rows[0][c.column]);
      }
    } catch (err) {
      out.code = err && err.code !== undefined ? String(err.code) : "";
      out.message = String(err && err.message ? err.message : err).split("\n")[0];
    }
    process.stdout.write(JSON.stringify(out) + "\n");
  }
  for (const client of clients.values()) await client.close();
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
