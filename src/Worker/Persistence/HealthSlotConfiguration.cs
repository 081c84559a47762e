using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

/// <summary>Table <c>provider_health_slots</c>: claims on once-per-cluster job runs; the first insert wins.</summary>
internal sealed class HealthSlotConfiguration : IEntityTypeConfiguration<HealthSlotRow>
{
    public void Configure(EntityTypeBuilder<HealthSlotRow> e)
    {
        e.ToTable("provider_health_slots");
        e.HasKey(s => new { s.Job, s.Slot }).HasName("PK_provider_health_slots");
        e.Property(s => s.Job).HasMaxLength(300);
        e.Property(s => s.ClaimedBy).HasMaxLength(128);
        e.HasIndex(s => s.ClaimedAt);
    }
}
