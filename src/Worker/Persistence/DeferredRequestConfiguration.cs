using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

/// <summary>Table <c>deferred_requests</c>: requests waiting durably to resume where their chain stopped.</summary>
internal sealed class DeferredRequestConfiguration : IEntityTypeConfiguration<DeferredRequestRow>
{
    public void Configure(EntityTypeBuilder<DeferredRequestRow> e)
    {
        e.ToTable("deferred_requests");
        e.HasKey(d => d.RequestId).HasName("PK_deferred_requests");
        e.Property(d => d.State).HasMaxLength(16);
        e.Property(d => d.Kind).HasMaxLength(16);
        e.Property(d => d.Message).HasColumnType("jsonb");
        // Rows deferred before the column existed spent nothing anyone counted: 0.
        e.Property(d => d.CostUsd).HasPrecision(18, 8).HasDefaultValue(0m);
        e.Property(d => d.Route).HasColumnType("jsonb");
        // Deleted with its request (retention, or a test clearing rows): a deferral never outlives what it defers.
        e.HasOne<RequestRow>().WithOne().HasForeignKey<DeferredRequestRow>(d => d.RequestId).OnDelete(DeleteBehavior.Cascade)
            .HasConstraintName("fk_deferred_requests_request_id");
        // What the release job scans: due waiting rows, oldest first.
        e.HasIndex(d => new { d.State, d.ResumeAt });
    }
}
