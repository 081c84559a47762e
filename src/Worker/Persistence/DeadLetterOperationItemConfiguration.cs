using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

/// <summary>Table <c>dead_letter_operation_items</c>: one dead letter in one operation.</summary>
internal sealed class DeadLetterOperationItemConfiguration : IEntityTypeConfiguration<DeadLetterOperationItemRow>
{
    public void Configure(EntityTypeBuilder<DeadLetterOperationItemRow> e)
    {
        e.ToTable("dead_letter_operation_items");
        e.HasKey(i => new { i.OperationId, i.DeadLetterId }).HasName("PK_dead_letter_operation_items");
        e.Property(i => i.State).HasMaxLength(16);
        // Retention deletes resolved dead letters; their place in past operations goes with them.
        e.HasOne<DeadLetterRow>().WithMany().HasForeignKey(i => i.DeadLetterId).OnDelete(DeleteBehavior.Cascade)
            .HasConstraintName("fk_dead_letter_operation_items_dead_letter_id");
        e.HasIndex(i => new { i.OperationId, i.State, i.Position }).HasDatabaseName("ix_dead_letter_operation_items_operation_state_position");
        e.HasIndex(i => i.DeadLetterId);
    }
}
