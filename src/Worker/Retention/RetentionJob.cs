using Quartz;

namespace Worker.Retention;

/// <summary>The scheduled sweep. One at a time per instance: a slow sweep is not joined by the next firing.</summary>
[DisallowConcurrentExecution]
internal sealed class RetentionJob(RetentionSweeper sweeper) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await sweeper.SweepAsync(cancellationToken);
}
