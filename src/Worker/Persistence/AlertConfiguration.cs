using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

/// <summary>Table <c>provider_alerts</c>: at most one open alert per rule, provider and model.</summary>
internal sealed class AlertConfiguration : IEntityTypeConfiguration<AlertRow>
{
    public void Configure(EntityTypeBuilder<AlertRow> e)
    {
        e.ToTable("provider_alerts");
        e.HasKey(a => a.Id).HasName("PK_provider_alerts");
        e.Property(a => a.Rule).HasMaxLength(64);
        e.Property(a => a.Provider).HasMaxLength(128);
        e.Property(a => a.Model).HasMaxLength(128);
        // Raising is an INSERT ... ON CONFLICT DO NOTHING on this index.
        e.HasIndex(a => new { a.Rule, a.Provider, a.Model }).IsUnique().HasFilter("resolved_at IS NULL")
            .HasDatabaseName("ux_provider_alerts_open");
        e.HasIndex(a => a.RaisedAt);
    }
}
