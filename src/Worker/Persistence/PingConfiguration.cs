using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

/// <summary>Table <c>provider_pings</c>: one row per health ping.</summary>
internal sealed class PingConfiguration : IEntityTypeConfiguration<PingRow>
{
    public void Configure(EntityTypeBuilder<PingRow> e)
    {
        e.ToTable("provider_pings");
        e.HasKey(p => p.Id).HasName("PK_provider_pings");
        e.Property(p => p.Id).UseIdentityAlwaysColumn();
        e.Property(p => p.Provider).HasMaxLength(128);
        e.Property(p => p.Model).HasMaxLength(128);
        e.Property(p => p.Outcome).HasMaxLength(16);
        e.Property(p => p.ErrorClass).HasMaxLength(32);
        e.Property(p => p.Instance).HasMaxLength(128);
        e.HasIndex(p => new { p.Provider, p.Model, p.PingedAt });
        // The sync step reads every pair's new pings by time.
        e.HasIndex(p => p.PingedAt);
    }
}
