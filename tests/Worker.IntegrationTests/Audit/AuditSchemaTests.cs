using Microsoft.EntityFrameworkCore;
using Npgsql;
using Worker.Audit;
using Worker.Migrations;
using Worker.Persistence;

namespace Worker.IntegrationTests.Audit;

/// <summary>
/// The schema on a real PostgreSQL: the migrations build what the model describes (catching drift the unit test's
/// SQL comparison cannot see, such as an operation order PostgreSQL refuses), the DBA script does the same, the worker
/// refuses a database that is behind, and metadata really is jsonb.
/// </summary>
public sealed class AuditSchemaTests : IAsyncLifetime
{
    private readonly List<string> _scratch = [];

    public Task InitializeAsync() => Task.CompletedTask;

    private async Task<string> ScratchAsync()
    {
        var connectionString = await AuditDatabase.CreateScratchAsync("audit_schema");
        _scratch.Add(connectionString);
        return connectionString;
    }

    [Fact]
    public async Task Migrations_build_the_schema_the_model_describes()
    {
        var migrated = await ScratchAsync();
        var fromModel = await ScratchAsync();
        await AuditDatabase.MigrateAsync(migrated);
        await using (var dataSource = NpgsqlDataSource.Create(fromModel))
        await using (var context = AuditMigrator.CreateContext(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
        }

        var expected = await AuditDatabase.DescribeAsync(fromModel);
        Assert.NotEmpty(expected);
        Assert.Equal(expected, await AuditDatabase.DescribeAsync(migrated));
    }

    [Fact]
    public async Task The_checked_in_script_builds_the_same_schema_and_can_run_twice()
    {
        var scripted = await ScratchAsync();
        var migrated = await ScratchAsync();
        await AuditDatabase.MigrateAsync(migrated);

        await using (var dataSource = NpgsqlDataSource.Create(scripted))
        {
            for (var run = 0; run < 2; run++)
            {
                await using var command = dataSource.CreateCommand(AuditMigrator.IdempotentScript());
                await command.ExecuteNonQueryAsync();
            }

            Assert.Equal(AuditMigrator.AllMigrations(), await AuditSchema.AppliedMigrationsAsync(dataSource));
            Assert.Equal(AuditSchema.RequiredMigration, AuditMigrator.AllMigrations()[^1]);
        }

        Assert.Equal(await AuditDatabase.DescribeAsync(migrated), await AuditDatabase.DescribeAsync(scripted));
    }

    [Fact]
    public async Task Worker_refuses_a_database_whose_schema_is_behind_and_accepts_it_once_migrated()
    {
        var connectionString = await ScratchAsync();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);

        var e = await Assert.ThrowsAsync<ConfigurationException>(() => AuditSchema.EnsureCurrentAsync(dataSource));
        Assert.Contains($"The database schema is behind: applied none, required {AuditSchema.RequiredMigration}", e.Message);
        Assert.Contains("ops/migrate.sh", e.Message);
        Assert.DoesNotContain("Password", e.Message, StringComparison.OrdinalIgnoreCase);

        await AuditDatabase.MigrateAsync(connectionString);
        // Migrating again is a no-op.
        await AuditDatabase.MigrateAsync(connectionString);
        await AuditSchema.EnsureCurrentAsync(dataSource);
    }

    [Fact]
    public async Task Metadata_round_trips_through_ef_as_a_jsonb_object()
    {
        var connectionString = await ScratchAsync();
        await AuditDatabase.MigrateAsync(connectionString);
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var id = Guid.NewGuid();
        var metadata = new Dictionary<string, string> { ["tenant"] = "acme", ["quote\"d"] = "ünïcode" };
        await using (var context = AuditMigrator.CreateContext(dataSource))
        {
            context.Requests.Add(new RequestRow { RequestId = id, ReceivedAt = DateTimeOffset.UtcNow, Metadata = metadata });
            await context.SaveChangesAsync();
        }

        await using (var context = AuditMigrator.CreateContext(dataSource))
        {
            Assert.Equal(metadata, (await context.Requests.SingleAsync(r => r.RequestId == id)).Metadata);
            Assert.Equal("object", await context.Database.SqlQuery<string>($"SELECT jsonb_typeof(metadata) AS \"Value\" FROM requests").SingleAsync());
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var connectionString in _scratch)
        {
            await AuditDatabase.DropScratchAsync(connectionString);
        }
    }
}
