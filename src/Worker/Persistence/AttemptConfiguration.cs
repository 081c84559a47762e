using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

/// <summary>Table <c>attempts</c> (named by <see cref="AuditDbContext.Attempts"/>): one row per provider call or skipped step.</summary>
internal sealed class AttemptConfiguration : IEntityTypeConfiguration<AttemptRow>
{
    public void Configure(EntityTypeBuilder<AttemptRow> e)
    {
        e.HasKey(a => a.Id).HasName("PK_attempts");
        e.Property(a => a.Id).UseIdentityAlwaysColumn();
        e.Property(a => a.Provider).HasMaxLength(128);
        e.Property(a => a.Model).HasMaxLength(128);
        e.Property(a => a.Outcome).HasMaxLength(16);
        e.Property(a => a.ErrorClass).HasMaxLength(32);
        e.Property(a => a.Decision).HasMaxLength(16);
        e.Property(a => a.CostUsd).HasPrecision(18, 8);
        // A request's attempts in write order; also serves the foreign key.
        e.HasIndex(a => new { a.RequestId, a.Id }).HasDatabaseName("ix_attempts_request_id");
        e.HasIndex(a => new { a.Provider, a.Model, a.StartedAt });
        e.HasIndex(a => a.StartedAt);
    }
}
