using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Worker.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Migrations;
using Worker.Persistence;

namespace Worker.IntegrationTests.Audit;

/// <summary>The audit database as the tests see it: migrated like ops/migrate.sh does, read through the same context.</summary>
public static class AuditDatabase
{
    /// <summary>Applies every pending migration (what ops/migrate.sh runs); a no-op on a current database.</summary>
    public static async Task MigrateAsync(string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var context = AuditMigrator.CreateContext(dataSource);
        await context.Database.MigrateAsync();
    }

    /// <summary>A request row with its attempts in the order they were written, or null.</summary>
    public static async Task<RequestRow?> FindAsync(NpgsqlDataSource dataSource, Guid requestId)
    {
        await using var context = AuditMigrator.CreateContext(dataSource);
        var row = await context.Requests.AsNoTracking().Include(r => r.Attempts).SingleOrDefaultAsync(r => r.RequestId == requestId);
        row?.Attempts.Sort((a, b) => a.Id.CompareTo(b.Id));
        return row;
    }

    /// <summary>An empty database of the tests' own; returns its connection string.</summary>
    public static async Task<string> CreateScratchAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..40];
        await using (var admin = NpgsqlDataSource.Create(TestEnvironment.Postgres))
        {
            await using var create = admin.CreateCommand($"CREATE DATABASE \"{name}\"");
            await create.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(TestEnvironment.Postgres) { Database = name, Pooling = false }.ConnectionString;
    }

    public static async Task DropScratchAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        await using var admin = NpgsqlDataSource.Create(TestEnvironment.Postgres);
        // FORCE ends this role's connections, but not an autovacuum worker's (a superuser's): on a freshly installed
        // PostgreSQL one often analyses the new tables just then, and the drop is refused (42501) until it is done.
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await using var drop = admin.CreateCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                await drop.ExecuteNonQueryAsync();
                return true;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), $"the scratch database {name} to be dropped (autovacuum done with it)");
    }

    /// <summary>
    /// Columns, indexes and constraints of every audit table (all of schema public but EF's history table), one line
    /// each, as PostgreSQL describes them.
    /// </summary>
    public static async Task<List<string>> DescribeAsync(string connectionString)
    {
        const string sql = """
            SELECT format('column %s.%s %s(%s,%s,%s) null=%s default=%s identity=%s', table_name, column_name, data_type,
                          character_maximum_length, numeric_precision, numeric_scale, is_nullable, column_default, identity_generation)
            FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '__EFMigrationsHistory'
            UNION ALL
            SELECT format('index %s: %s', indexname, indexdef)
            FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '__EFMigrationsHistory'
            UNION ALL
            SELECT format('constraint %s: %s', conname, pg_get_constraintdef(oid))
            FROM pg_constraint
            WHERE conrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname <> '__EFMigrationsHistory')
            ORDER BY 1
            """;
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var lines = new List<string>();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0));
        }

        return lines;
    }
}

/// <summary>
/// Stops and starts PostgreSQL: the local service (the tests run as root, as ops/test.sh does on CI), or the container
/// when <see cref="TestServices"/> chose containers (its host port is bound statically, so it keeps its address).
/// </summary>
public static class PostgresService
{
    public static Task StopAsync() => TestServices.PostgresContainer is { } container ? container.StopAsync() : RunAsync("stop");

    /// <summary>Starts the service and waits until it answers a query.</summary>
    public static async Task StartAsync()
    {
        if (TestServices.PostgresContainer is { } container)
            await container.StartAsync();
        else
            await RunAsync("start");
        await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(TestEnvironment.Postgres) { Pooling = false }.ConnectionString);
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync();
                return true;
            }
            catch (NpgsqlException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "PostgreSQL to answer a query after its start");
    }

    private static Task RunAsync(string verb) => ServiceControl.RunAsync("postgresql", verb, TimeSpan.FromMinutes(1));
}
