using Npgsql;

namespace Worker.Persistence;

/// <summary>
/// The schema this build writes to. The worker never migrates: ops/migrate.sh does, explicitly, and the worker refuses
/// to start on a database that lacks any of <see cref="RequiredMigrations"/>.
/// </summary>
public static class AuditSchema
{
    /// <summary>Every migration this build needs, oldest first; a unit test keeps the list equal to migrations/Worker.Migrations.</summary>
    public static readonly IReadOnlyList<string> RequiredMigrations =
    [
        "20261121000000_InitialAudit",
        "20261121010000_ProviderHealth",
        "20261121020000_DeadLetters",
        "20261121030000_DeliveryGuarantees",
        "20261130190217_Routing",
        "20261130221524_ResponseCache",
        "20261201060007_RequestTraceParent",
    ];

    /// <summary>The newest migration this build needs.</summary>
    public static string RequiredMigration => RequiredMigrations[^1];

    /// <summary>EF's history table (default name, default schema).</summary>
    public const string HistoryTable = "__EFMigrationsHistory";

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the fix when the database is unreachable or behind.</summary>
    public static async Task EnsureCurrentAsync(NpgsqlDataSource database, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> applied;
        try
        {
            applied = await AppliedMigrationsAsync(database, cancellationToken);
        }
        catch (NpgsqlException e)
        {
            throw new ConfigurationException(
                $"PostgreSQL ({Describe(database)}) could not be asked for the audit schema: {e.Message}. " +
                "Check ConnectionStrings:Postgres (env ConnectionStrings__Postgres) and that the server is up.");
        }

        // Every one, not only the newest: a database migrated before an older-numbered migration existed lacks it.
        var missing = RequiredMigrations.Where(m => !applied.Contains(m, StringComparer.Ordinal)).ToList();
        if (missing.Count > 0)
        {
            throw new ConfigurationException(
                $"The database schema is behind: applied {(applied.Count > 0 ? applied[^1] : "none")}, required {RequiredMigration}, missing {string.Join(", ", missing)} " +
                $"({Describe(database)}). Apply it with ops/migrate.sh (or have a DBA run migrations/sql/audit-idempotent.sql).");
        }
    }

    /// <summary>The applied migration ids, oldest first; empty when the history table does not exist yet.</summary>
    public static async Task<IReadOnlyList<string>> AppliedMigrationsAsync(NpgsqlDataSource database, CancellationToken cancellationToken = default)
    {
        await using var command = database.CreateCommand($"""SELECT "MigrationId" FROM "{HistoryTable}" ORDER BY "MigrationId" """);
        try
        {
            var applied = new List<string>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetString(0));
            }

            return applied;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return [];
        }
    }

    /// <summary>Where the database is, without the password.</summary>
    private static string Describe(NpgsqlDataSource database)
    {
        var builder = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        return $"Host={builder.Host};Port={builder.Port};Database={builder.Database};Username={builder.Username}";
    }
}
