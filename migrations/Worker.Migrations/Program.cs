using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using Worker.Migrations;
using Worker.Persistence;

// The audit schema's migrator, run explicitly (ops/migrate.sh), never by the worker:
//   migrate          apply pending migrations (the default; idempotent)
//   status           applied and pending migrations
//   script [path]    write the idempotent SQL script (default migrations/sql/audit-idempotent.sql; "-" for stdout)
// The database comes from ConnectionStrings__Postgres.
const string usage = "usage: Worker.Migrations [migrate | status | script [path]]";
// dotnet ef runs this entry point looking for a host to take services from (adding --applicationName=...); there is
// none here: it builds the context with DesignTimeContextFactory. Do nothing, whatever else was passed.
if (args.Any(a => a.StartsWith("--applicationName", StringComparison.Ordinal)))
{
    return 0;
}

var command = args.Length > 0 ? args[0] : "migrate";

if (command == "script")
{
    var path = args.Length > 1 ? args[1] : AuditMigrator.ScriptPath;
    var script = AuditMigrator.IdempotentScript();
    if (path == "-")
    {
        Console.Write(script);
    }
    else
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllTextAsync(path, script);
        Console.WriteLine($"Wrote {path}");
    }

    return 0;
}

if (command is not ("migrate" or "status"))
{
    Console.Error.WriteLine(usage);
    return 2;
}

var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres");
if (string.IsNullOrWhiteSpace(connectionString))
{
    Console.Error.WriteLine("error: ConnectionStrings__Postgres is required, e.g. Host=localhost;Database=llm_worker;Username=worker;Password=...");
    return 2;
}

await using var dataSource = NpgsqlDataSource.Create(connectionString);
var builder = new NpgsqlConnectionStringBuilder(connectionString);
var where = $"{builder.Host}:{builder.Port}/{builder.Database}";
await using var context = AuditMigrator.CreateContext(dataSource);
try
{
    // EF would create a missing database; a misspelt name must fail instead.
    if (!await context.GetService<IRelationalDatabaseCreator>().ExistsAsync())
    {
        Console.Error.WriteLine($"error: the database {where} does not exist; create it first (ops/up.sh and ops/test.sh do).");
        return 1;
    }

    var applied = (await context.Database.GetAppliedMigrationsAsync()).ToList();
    var pending = (await context.Database.GetPendingMigrationsAsync()).ToList();
    if (command == "status")
    {
        Console.WriteLine($"Audit schema on {where}");
        applied.ForEach(m => Console.WriteLine($"  applied  {m}"));
        pending.ForEach(m => Console.WriteLine($"  pending  {m}"));
        Console.WriteLine(pending.Count == 0 ? "Up to date." : $"{pending.Count} pending: apply with ops/migrate.sh");
        Console.WriteLine($"This build of the worker requires {AuditSchema.RequiredMigration}.");
        return 0;
    }

    if (pending.Count == 0)
    {
        Console.WriteLine($"Audit schema on {where} is up to date ({(applied.Count > 0 ? applied[^1] : "no migration")}).");
        return 0;
    }

    foreach (var migration in pending)
    {
        Console.WriteLine($"Applying {migration} to {where}");
    }

    await context.Database.MigrateAsync();
    Console.WriteLine($"Audit schema on {where} is up to date ({pending[^1]}).");
    return 0;
}
catch (Exception e) when ((e as NpgsqlException ?? e.InnerException as NpgsqlException) is { } npgsql)
{
    // EF wraps connection failures in an InvalidOperationException. Npgsql's messages name the host, never the password.
    Console.Error.WriteLine($"error: PostgreSQL at {where}: {npgsql.Message}");
    return 1;
}
