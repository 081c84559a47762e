using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;

namespace Worker.Persistence;

/// <summary>
/// The worker's database: requests and attempts, dead letters, deferrals, provider health. One
/// <see cref="IEntityTypeConfiguration{TEntity}"/> per table in this folder; names come from the snake_case convention
/// (ops query with plain SQL), explicit only where the convention would differ from what the migrations created.
/// <para>
/// Changing the model: edit a configuration (or a row class), then run
/// <c>dotnet ef migrations add &lt;Name&gt; --project migrations/Worker.Migrations</c>, add the new id to
/// <see cref="AuditSchema.RequiredMigrations"/> and regenerate the DBA script with <c>ops/migrate.sh script</c>
/// (docs/database.md). The drift test fails while the model has changes no migration carries.
/// </para>
/// </summary>
public sealed class AuditDbContext(DbContextOptions<AuditDbContext> options) : DbContext(options)
{
    /// <summary>The assembly holding the migrations (migrations/Worker.Migrations).</summary>
    public const string MigrationsAssembly = "Worker.Migrations";

    /// <summary>The options every user of the context shares: the worker, the migrator, dotnet ef and the tests.</summary>
    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder options, NpgsqlDataSource dataSource) =>
        options
            .UseNpgsql(dataSource, npgsql => npgsql.MigrationsAssembly(MigrationsAssembly))
            .UseSnakeCaseNamingConvention()
            .ReplaceService<IHistoryRepository, MigrationHistory>();

    // The DbSet names are table names (requests, attempts, ...): renaming one renames its table.
    public DbSet<RequestRow> Requests => Set<RequestRow>();

    public DbSet<AttemptRow> Attempts => Set<AttemptRow>();

    public DbSet<DeadLetterRow> DeadLetters => Set<DeadLetterRow>();

    public DbSet<DeadLetterOperationRow> DeadLetterOperations => Set<DeadLetterOperationRow>();

    public DbSet<ResponseCacheRow> ResponseCache => Set<ResponseCacheRow>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(AuditDbContext).Assembly, t => t.Namespace == typeof(AuditDbContext).Namespace);
}
