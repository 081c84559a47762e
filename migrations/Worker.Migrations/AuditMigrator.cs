using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;
using Worker.Persistence;

namespace Worker.Migrations;

/// <summary>What the migrator does, callable from tests: a context bound to this assembly, and the idempotent script.</summary>
public static class AuditMigrator
{
    /// <summary>The script checked in for DBAs, relative to the repository root.</summary>
    public const string ScriptPath = "migrations/sql/audit-idempotent.sql";

    private const string ScriptHeader = """
        -- The audit schema (requests, attempts) as an idempotent script: safe on an empty database and on one at any
        -- migration; each migration runs once, recorded in "__EFMigrationsHistory".
        -- GENERATED from migrations/Worker.Migrations, do not edit: regenerate with `ops/migrate.sh script`.

        """;

    public static AuditDbContext CreateContext(NpgsqlDataSource dataSource)
    {
        var options = new DbContextOptionsBuilder<AuditDbContext>();
        AuditDbContext.Configure(options, dataSource);
        return new AuditDbContext(options.Options);
    }

    /// <summary>Every migration as one idempotent SQL script, with LF line endings. Needs no database.</summary>
    public static string IdempotentScript()
    {
        // A data source that is never opened: script generation only needs the provider.
        using var dataSource = NpgsqlDataSource.Create("Host=localhost");
        using var context = CreateContext(dataSource);
        var script = context.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent);
        return (ScriptHeader + "\n" + script).ReplaceLineEndings("\n").TrimEnd('\n') + "\n";
    }

    /// <summary>Every migration id in this assembly, oldest first.</summary>
    public static IReadOnlyList<string> AllMigrations()
    {
        using var dataSource = NpgsqlDataSource.Create("Host=localhost");
        using var context = CreateContext(dataSource);
        return [.. context.GetService<IMigrationsAssembly>().Migrations.Keys.Order(StringComparer.Ordinal)];
    }
}
