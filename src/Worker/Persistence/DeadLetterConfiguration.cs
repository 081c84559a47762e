using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

/// <summary>Table <c>dead_letters</c> (named by <see cref="AuditDbContext.DeadLetters"/>): one row per parked message.</summary>
internal sealed class DeadLetterConfiguration : IEntityTypeConfiguration<DeadLetterRow>
{
    public void Configure(EntityTypeBuilder<DeadLetterRow> e)
    {
        e.HasKey(d => d.Id).HasName("PK_dead_letters");
        e.Property(d => d.Source).HasMaxLength(16);
        e.Property(d => d.Status).HasMaxLength(16);
        e.Property(d => d.Reason).HasMaxLength(64);
        e.Property(d => d.ErrorClass).HasMaxLength(32);
        e.Property(d => d.Provider).HasMaxLength(128);
        e.Property(d => d.Chain).HasMaxLength(128);
        e.Property(d => d.ExceptionType).HasMaxLength(256);
        e.Property(d => d.GroupKey).HasMaxLength(16);
        e.Property(d => d.Message).HasColumnType("jsonb");
        e.Property(d => d.ContentType).HasMaxLength(128);
        e.Property(d => d.Headers).HasColumnType("jsonb");
        e.Property(d => d.ResolvedBy).HasMaxLength(128);
        e.HasIndex(d => new { d.Status, d.LastParkedAt });
        e.HasIndex(d => new { d.GroupKey, d.Status });
        e.HasIndex(d => d.RequestId);
    }
}
