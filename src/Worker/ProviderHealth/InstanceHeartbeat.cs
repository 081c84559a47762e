using Microsoft.Extensions.Options;

namespace Worker.ProviderHealth;

/// <summary>
/// Renews this instance's row every ProviderHealth:HeartbeatInterval and counts the live instances into
/// <see cref="LiveInstances"/>, which divides each provider's pacing budget among them; deletes the row on a graceful
/// stop. A failed renewal (database down) keeps the last count: the shares stay as they were rather than each instance
/// suddenly allowing the whole budget.
/// </summary>
internal sealed class InstanceHeartbeat(
    InstanceRegistry registry,
    LiveInstances live,
    IOptions<ProviderHealthOptions> options,
    TimeProvider time,
    ILogger<InstanceHeartbeat> logger) : BackgroundService
{
    private static readonly TimeSpan RemoveTimeout = TimeSpan.FromSeconds(5);

    private bool _failing;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (settings.HeartbeatInterval == TimeSpan.Zero)
        {
            Log.HeartbeatOff(logger);
            return;
        }

        using var timer = new PeriodicTimer(settings.HeartbeatInterval, time);
        do
        {
            await BeatAsync(settings, stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (options.Value.HeartbeatInterval == TimeSpan.Zero)
            return;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RemoveTimeout);
        try
        {
            await registry.RemoveAsync(options.Value.InstanceName, timeout.Token);
        }
        catch (Exception e)
        {
            // The row then simply ages out after InstanceTimeout.
            Log.HeartbeatRemoveFailed(logger, e, options.Value.InstanceName);
        }
    }

    private async Task BeatAsync(ProviderHealthOptions settings, CancellationToken stoppingToken)
    {
        try
        {
            var count = await registry.RenewAsync(settings.InstanceName, settings.InstanceTimeout, stoppingToken);
            if (count != live.Count || _failing)
                Log.InstancesCounted(logger, count, settings.InstanceName);
            live.Counted(count);
            _failing = false;
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            if (!_failing)
                Log.HeartbeatFailed(logger, e, live.Count);
            _failing = true;
        }
    }
}
