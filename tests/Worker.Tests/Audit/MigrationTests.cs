using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Operations;
using Npgsql;
using Worker.Migrations;
using Worker.Persistence;
using Worker.Tests.Fakes;

namespace Worker.Tests.Audit;

/// <summary>
/// The model, its migrations and the DBA script agree: no model change lacks a migration, the checked-in script is
/// current, and the worker requires the newest migration. (That the migrations really build the model on PostgreSQL is
/// AuditSchemaTests' job, in the integration tests.)
/// </summary>
public sealed class MigrationTests : IDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create("Host=localhost");
    private readonly AuditDbContext _context;

    public MigrationTests() => _context = AuditMigrator.CreateContext(_dataSource);

    [Fact]
    public void The_model_has_no_change_that_lacks_a_migration()
    {
        // Compares the model with migrations/Worker.Migrations/AuditDbContextModelSnapshot.cs; needs no database.
        Assert.False(_context.Database.HasPendingModelChanges(),
            "AuditDbContext's model has changes no migration carries: run `dotnet ef migrations add <Name> --project migrations/Worker.Migrations`, " +
            "add its id to AuditSchema.RequiredMigrations and regenerate the script with `ops/migrate.sh script` (docs/database.md)");
    }

    [Fact]
    public void Down_drops_every_table_up_creates()
    {
        var migrations = _context.GetService<IMigrationsAssembly>();
        foreach (var (id, type) in migrations.Migrations)
        {
            var migration = migrations.CreateMigration(type, _context.Database.ProviderName!);
            var created = migration.UpOperations.OfType<CreateTableOperation>().Select(t => t.Name).Order();
            var dropped = migration.DownOperations.OfType<DropTableOperation>().Select(t => t.Name).Order();
            Assert.True(created.SequenceEqual(dropped), $"{id}: Down must drop the tables Up creates");
        }
    }

    [Fact]
    public void The_worker_requires_every_migration_there_is()
    {
        Assert.Equal(AuditSchema.RequiredMigrations, AuditMigrator.AllMigrations());
    }

    [Fact]
    public void History_table_keeps_the_column_names_existing_databases_have()
    {
        // The snake_case convention would rename them; AuditSchema and every migrated database use EF's defaults.
        var script = AuditMigrator.IdempotentScript();
        Assert.Contains($"""CREATE TABLE IF NOT EXISTS "{AuditSchema.HistoryTable}" (""", script);
        Assert.Contains("""INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")""", script);
        Assert.Contains("""CONSTRAINT "PK___EFMigrationsHistory" PRIMARY KEY ("MigrationId")""", script);
    }

    [Fact]
    public void Checked_in_idempotent_script_is_current()
    {
        var path = Path.Combine(Repository.Root(), AuditMigrator.ScriptPath);
        Assert.True(File.Exists(path), $"{AuditMigrator.ScriptPath} is missing: generate it with `ops/migrate.sh script`");
        var checkedIn = File.ReadAllText(path).ReplaceLineEndings("\n");

        Assert.True(checkedIn == AuditMigrator.IdempotentScript(),
            $"{AuditMigrator.ScriptPath} differs from the migrations: regenerate it with `ops/migrate.sh script` and commit it");
    }

    public void Dispose()
    {
        _context.Dispose();
        _dataSource.Dispose();
    }
}
