using MassTransit;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace Worker.Messaging;

/// <summary>
/// Restarts the bus when MassTransit stays disconnected while the broker is back. MassTransit 8.4 reconnects by itself
/// after a broker restart, except in one race: when the broker force-closes a connection MassTransit has just reopened
/// during the broker's own shutdown, it keeps retrying channels on that dead connection for good (seen in the RabbitMQ
/// restart test: "Already closed: CONNECTION_FORCED" at every retry, nothing consumed again). A newer MassTransit is not
/// an option here (8.5 needs a RabbitMQ.Client this registry does not serve; 9 is commercial), so this watchdog stops
/// and starts the bus once it has been unhealthy for Messaging:BusRecoveryAfter while a fresh connection to the broker
/// succeeds. Requests in flight are not lost: the broker redelivers what was unacknowledged, and the claims make the
/// redeliveries wait for, or re-publish, what the running chains store.
/// </summary>
public sealed class BusWatchdog(
    IBusControl bus,
    RabbitMqAddress broker,
    IOptions<MessagingOptions> options,
    TimeProvider time,
    ILogger<BusWatchdog> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var recoverAfter = options.Value.BusRecoveryAfter;
        if (recoverAfter <= TimeSpan.Zero)
        {
            return;
        }

        var interval = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, recoverAfter.Ticks / 6));
        DateTimeOffset? unhealthySince = null, reachableSince = null;
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = time.GetUtcNow();
                var health = bus.CheckHealth();
                if (health.Status == BusHealthStatus.Healthy)
                {
                    unhealthySince = reachableSince = null;
                    continue;
                }

                unhealthySince ??= now;
                reachableSince = await BrokerAnswersAsync(stoppingToken) ? reachableSince ?? now : null;
                // Give MassTransit's own reconnection time first: restart only when the bus has been down long, and the
                // broker up for a good part of it.
                if (now - unhealthySince < recoverAfter || reachableSince is null || now - reachableSince < recoverAfter / 2)
                {
                    continue;
                }

                Log.RestartingBus(logger, (long)(now - unhealthySince.Value).TotalSeconds, health.Description);
                using (var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                {
                    stop.CancelAfter(options.Value.StopTimeout + TimeSpan.FromSeconds(10));
                    await bus.StopAsync(stop.Token);
                }

                await bus.StartAsync(stoppingToken);
                unhealthySince = reachableSince = null;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping: MassTransit's hosted service stops the bus.
        }
    }

    private async Task<bool> BrokerAnswersAsync(CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            HostName = broker.Host,
            Port = broker.Port,
            VirtualHost = broker.VirtualHost,
            UserName = broker.Username,
            Password = broker.Password,
            Ssl = new SslOption { Enabled = broker.UseTls, ServerName = broker.Host },
            ClientProvidedName = "llm-worker bus watchdog",
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        };
        try
        {
            await using var connection = await factory.CreateConnectionAsync(cancellationToken);
            await connection.CloseAsync(cancellationToken);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
