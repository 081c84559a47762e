using Quartz;

namespace Worker.ProviderHealth;

/// <summary>Pings one provider and model (from the job data) for the slot of its scheduled fire time.</summary>
[DisallowConcurrentExecution]
internal sealed class ProviderPingJob(ProviderPinger pinger, ILogger<ProviderPingJob> logger) : IJob
{
    public const string ProviderKey = "provider";
    public const string ModelKey = "model";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var provider = context.MergedJobDataMap.GetString(ProviderKey)!;
        var model = context.MergedJobDataMap.GetString(ModelKey)!;
        // The scheduled time, not the actual one: every instance derives the same slot however late it fires.
        await HealthJob.RunAsync(logger, $"ping {provider}/{model}",
            ct => pinger.PingAsync(provider, model, context.ScheduledFireTimeUtc ?? context.FireTimeUtc, ct), cancellationToken);
    }
}

/// <summary>Applies the cluster's new pings to this instance's breakers.</summary>
[DisallowConcurrentExecution]
internal sealed class PingSyncJob(PingSync sync, ILogger<PingSyncJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await HealthJob.RunAsync(logger, "ping sync", sync.SyncAsync, cancellationToken);
}

/// <summary>Evaluates the alert rules, once per cluster per interval.</summary>
[DisallowConcurrentExecution]
internal sealed class ProviderAlertsJob(ProviderAlerts alerts, ILogger<ProviderAlertsJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await HealthJob.RunAsync(logger, "alerts", ct => alerts.RunAsync(context.ScheduledFireTimeUtc ?? context.FireTimeUtc, ct), cancellationToken);
}

/// <summary>Deletes health history older than ProviderHealth:HistoryDays (every instance; the deletes are idempotent).</summary>
[DisallowConcurrentExecution]
internal sealed class HealthHistoryJob(HealthHistory history, ILogger<HealthHistoryJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await HealthJob.RunAsync(logger, "history", history.PruneAsync, cancellationToken);
}

/// <summary>Counts today's use of the daily quotas from the audit trail (every instance: each keeps its own view).</summary>
[DisallowConcurrentExecution]
internal sealed class QuotaRefreshJob(DailyQuotaCounter counter, ILogger<QuotaRefreshJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await HealthJob.RunAsync(logger, "quota refresh", counter.RefreshAsync, cancellationToken);
}

internal static class HealthJob
{
    public const string Group = "provider-health";

    /// <summary>
    /// Runs one firing. A database or provider hiccup is logged and the next firing tries again: nothing here is worth
    /// Quartz's retry machinery, and a ping that failed to be stored is simply a missed ping.
    /// </summary>
    public static async Task RunAsync<T>(ILogger logger, string job, Func<CancellationToken, Task<T>> run, CancellationToken cancellationToken)
    {
        try
        {
            await run(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.JobFailed(logger, e, job);
        }
    }
}
