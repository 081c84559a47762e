using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Migrations.Internal;

namespace Worker.Persistence;

/// <summary>
/// EF's history table exactly as the first migrations created it ("MigrationId", "ProductVersion"). The snake_case
/// convention would rename its columns too (EFCore.NamingConventions issue #1), and every existing database, the DBA
/// script and <see cref="AuditSchema"/> would then look for columns that are not there.
/// </summary>
#pragma warning disable EF1001 // Npgsql's history repository is "internal" API, but overriding ConfigureTable is EF's documented way to shape this table.
internal sealed class MigrationHistory(HistoryRepositoryDependencies dependencies) : NpgsqlHistoryRepository(dependencies)
{
    protected override void ConfigureTable(EntityTypeBuilder<HistoryRow> history)
    {
        base.ConfigureTable(history);
        history.HasKey(h => h.MigrationId).HasName($"PK_{AuditSchema.HistoryTable}");
        history.Property(h => h.MigrationId).HasColumnName(nameof(HistoryRow.MigrationId));
        history.Property(h => h.ProductVersion).HasColumnName(nameof(HistoryRow.ProductVersion));
    }
}
#pragma warning restore EF1001
