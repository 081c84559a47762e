using Microsoft.Extensions.Options;
using Quartz;
using Worker.Audit;

namespace Worker.ProviderHealth;

/// <summary>
/// Puts the health jobs on the app's Quartz scheduler at start: one ping job per provider and model of the configured
/// chains (known only once configuration is validated, hence here rather than in AddQuartz), the sync, the alerts, the
/// daily quota counts (when a quota is configured; first at once) and the history pruning. Once-per-cluster triggers start on a slot boundary, so every instance fires at the same instants.
/// </summary>
internal sealed class HealthSchedule(
    ISchedulerFactory schedulers,
    IMonitoredModels monitored,
    PriceTable prices,
    QuotaTracker quotas,
    IOptions<ProviderHealthOptions> options,
    TimeProvider time,
    ILogger<HealthSchedule> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var now = time.GetUtcNow();
        var pairs = monitored.Models;

        if (settings.PingInterval > TimeSpan.Zero)
        {
            foreach (var pair in pairs)
            {
                var job = JobBuilder.Create<ProviderPingJob>()
                    .WithIdentity($"ping {pair}", HealthJob.Group)
                    .UsingJobData(ProviderPingJob.ProviderKey, pair.Provider)
                    .UsingJobData(ProviderPingJob.ModelKey, pair.Model)
                    .Build();
                await scheduler.ScheduleJob(job, Every(job, settings.PingInterval, ClusterSlots.NextBoundary(now, settings.PingInterval)), cancellationToken: cancellationToken);
            }

            Log.PingsScheduled(logger, pairs.Count, settings.PingInterval.TotalSeconds, string.Join(", ", pairs), PingCostPerDay(prices, pairs, settings));
        }
        else
        {
            Log.PingsOff(logger);
        }

        if (settings.SyncInterval > TimeSpan.Zero)
            await ScheduleAsync<PingSyncJob>(scheduler, "ping sync", settings.SyncInterval, now + settings.SyncInterval, cancellationToken);
        if (settings.AlertInterval > TimeSpan.Zero)
            await ScheduleAsync<ProviderAlertsJob>(scheduler, "alerts", settings.AlertInterval, ClusterSlots.NextBoundary(now, settings.AlertInterval), cancellationToken);
        if (quotas.ConfiguredPairs().Count > 0)
            await ScheduleAsync<QuotaRefreshJob>(scheduler, "quota refresh", settings.QuotaRefreshInterval, now, cancellationToken);
        await ScheduleAsync<HealthHistoryJob>(scheduler, "history", TimeSpan.FromHours(1), now + TimeSpan.FromMinutes(5), cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task ScheduleAsync<TJob>(IScheduler scheduler, string name, TimeSpan interval, DateTimeOffset startAt, CancellationToken cancellationToken)
        where TJob : IJob
    {
        var job = JobBuilder.Create<TJob>().WithIdentity(name, HealthJob.Group).Build();
        await scheduler.ScheduleJob(job, Every(job, interval, startAt), cancellationToken: cancellationToken);
    }

    private ITrigger Every(IJobDetail job, TimeSpan interval, DateTimeOffset startAt) =>
        TriggerBuilder.Create(time)
            .WithIdentity(job.Key.Name, HealthJob.Group)
            .StartAt(startAt)
            // A firing missed while the previous one ran (or the process was paused) is dropped, not caught up.
            .WithSimpleSchedule(s => s.WithInterval(interval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
            .Build();

    /// <summary>
    /// What pings cost per day at list prices, at most: "ping" is a handful of prompt tokens (10 assumed, wrapping
    /// included) and the answer is capped at PingMaxOutputTokens (thinking tokens included). Null when a model has no price.
    /// </summary>
    internal static decimal? PingCostPerDay(PriceTable prices, IReadOnlyList<ProviderModel> pairs, ProviderHealthOptions settings)
    {
        var perDay = (decimal)(TimeSpan.FromDays(1) / settings.PingInterval);
        decimal total = 0;
        foreach (var pair in pairs)
        {
            if (prices.CostOf(pair.Model, 10, settings.PingMaxOutputTokens) is not { } each)
                return null;
            total += each * perDay;
        }

        return Math.Round(total, 2);
    }
}
