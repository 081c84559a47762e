using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

/// <summary>Table <c>dead_letter_operations</c> (named by <see cref="AuditDbContext.DeadLetterOperations"/>): replays and archives asked for by ops.</summary>
internal sealed class DeadLetterOperationConfiguration : IEntityTypeConfiguration<DeadLetterOperationRow>
{
    public void Configure(EntityTypeBuilder<DeadLetterOperationRow> e)
    {
        e.HasKey(o => o.Id).HasName("PK_dead_letter_operations");
        e.Property(o => o.Kind).HasMaxLength(16);
        e.Property(o => o.Status).HasMaxLength(16);
        e.Property(o => o.RequestedBy).HasMaxLength(128);
        e.Property(o => o.Selection).HasColumnType("jsonb");
        e.Property(o => o.RedirectChain).HasMaxLength(128);
        e.HasMany(o => o.Items).WithOne().HasForeignKey(i => i.OperationId).OnDelete(DeleteBehavior.Cascade)
            .HasConstraintName("fk_dead_letter_operation_items_operation_id");
        e.HasIndex(o => new { o.Status, o.RequestedAt });
    }
}
