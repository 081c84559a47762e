using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

/// <summary>Table <c>breaker_events</c>: breakers opening and closing, per instance.</summary>
internal sealed class BreakerEventConfiguration : IEntityTypeConfiguration<BreakerEventRow>
{
    public void Configure(EntityTypeBuilder<BreakerEventRow> e)
    {
        e.ToTable("breaker_events");
        e.HasKey(b => b.Id).HasName("PK_breaker_events");
        e.Property(b => b.Id).UseIdentityAlwaysColumn();
        e.Property(b => b.Provider).HasMaxLength(128);
        e.Property(b => b.Model).HasMaxLength(128);
        e.Property(b => b.Transition).HasMaxLength(16);
        e.Property(b => b.Instance).HasMaxLength(128);
        e.HasIndex(b => new { b.Provider, b.Model, b.At });
        e.HasIndex(b => b.At);
    }
}
