using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Operations;
using Npgsql;
using Worker.Audit;
using Worker.Migrations;
using Worker.Persistence;

namespace Worker.Tests.Audit;

/// <summary>
/// The migrations are hand-written (no dotnet ef here), so these tests stand in for EF's model snapshot: the SQL of
/// the migrations must be the SQL EF would create from AuditDbContext's model, the checked-in script must be current,
/// and the worker must require the newest migration.
/// </summary>
public sealed class MigrationTests : IDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create("Host=localhost");
    private readonly AuditDbContext _context;

    public MigrationTests() => _context = AuditMigrator.CreateContext(_dataSource);

    [Fact]
    public void Migrations_create_exactly_what_the_model_describes()
    {
        var model = _context.GetService<IDesignTimeModel>().Model;
        var fromModel = _context.GetService<IMigrationsModelDiffer>().GetDifferences(null, model.GetRelationalModel());
        var migrations = _context.GetService<IMigrationsAssembly>();
        var fromMigrations = FoldAddedColumns(migrations.Migrations.OrderBy(m => m.Key, StringComparer.Ordinal)
            .SelectMany(m => migrations.CreateMigration(m.Value, _context.Database.ProviderName!).UpOperations));

        // Compared as SQL (what the database gets), one statement per operation, order aside: the integration tests
        // apply the migrations for real, which checks that the order works.
        var wanted = Sql(fromModel);
        var written = Sql(fromMigrations);
        var missing = wanted.Except(written).ToList();
        var unexpected = written.Except(wanted).ToList();
        Assert.True(missing.Count == 0 && unexpected.Count == 0,
            "migrations/Worker.Migrations does not build AuditDbContext's model: add (or fix) a migration and raise AuditSchema.RequiredMigration." +
            $"\n--- the model needs:\n{string.Join("\n", missing)}\n--- the migrations create instead:\n{string.Join("\n", unexpected)}");
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
    public void Checked_in_idempotent_script_is_current()
    {
        var path = Path.Combine(RepositoryRoot(), AuditMigrator.ScriptPath);
        Assert.True(File.Exists(path), $"{AuditMigrator.ScriptPath} is missing: generate it with `ops/migrate.sh script`");
        var checkedIn = File.ReadAllText(path).ReplaceLineEndings("\n");

        Assert.True(checkedIn == AuditMigrator.IdempotentScript(),
            $"{AuditMigrator.ScriptPath} differs from the migrations: regenerate it with `ops/migrate.sh script` and commit it");
    }

    /// <summary>
    /// The model describes each table in one CREATE TABLE; a later migration that adds a column to a table created by an
    /// earlier one is folded into that CREATE TABLE (appended, as EF orders a new property's column last).
    /// </summary>
    private static List<MigrationOperation> FoldAddedColumns(IEnumerable<MigrationOperation> operations)
    {
        var folded = new List<MigrationOperation>();
        var tables = new Dictionary<string, CreateTableOperation>();
        foreach (var operation in operations)
        {
            switch (operation)
            {
                case CreateTableOperation create:
                    tables[create.Name] = create;
                    folded.Add(create);
                    break;
                case AddColumnOperation add when tables.TryGetValue(add.Table, out var table):
                    table.Columns.Add(add);
                    break;
                default:
                    folded.Add(operation);
                    break;
            }
        }

        return folded;
    }

    private List<string> Sql(IReadOnlyList<MigrationOperation> operations) =>
        [.. _context.GetService<IMigrationsSqlGenerator>().Generate(operations).Select(c => c.CommandText.Trim()).Order(StringComparer.Ordinal)];

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Worker.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Worker.sln not found above {AppContext.BaseDirectory}");
    }

    public void Dispose()
    {
        _context.Dispose();
        _dataSource.Dispose();
    }
}
