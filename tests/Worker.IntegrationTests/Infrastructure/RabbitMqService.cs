using RabbitMQ.Client;

namespace Worker.IntegrationTests.Infrastructure;

/// <summary>
/// Restarts RabbitMQ: the local service (the tests run as root, as ops/test.sh does on CI), or the container when
/// <see cref="TestServices"/> chose containers.
/// </summary>
public static class RabbitMqService
{
    /// <summary>
    /// Stops the node (<c>rabbitmqctl shutdown</c>, which waits for it to exit), starts the service again, and waits until
    /// the test virtual host takes connections. Not <c>service rabbitmq-server restart</c>: Debian's init script stops by
    /// pid file, and when its own start gave up waiting it deletes that file, after which every later stop hangs.
    /// </summary>
    public static async Task RestartAsync()
    {
        await ShutdownAsync();
        await RunAsync("start");
        await WaitUntilUpAsync();
    }

    /// <summary>Starts the service if it does not take connections (a finally block after a restart that failed half-way).</summary>
    public static async Task EnsureRunningAsync()
    {
        if (await AcceptsConnectionsAsync())
            return;
        await RunAsync("start");
        await WaitUntilUpAsync();
    }

    /// <summary>
    /// Raises a memory alarm: RabbitMQ stops reading from every connection that publishes, so a publish in progress waits
    /// (consumers already holding messages keep them). <see cref="UnblockPublishersAsync"/> clears it.
    /// </summary>
    public static Task BlockPublishersAsync() => CtlAsync("set_vm_memory_high_watermark 0.00001");

    /// <summary>Clears the alarm <see cref="BlockPublishersAsync"/> raised (back to RabbitMQ's default watermark).</summary>
    public static Task UnblockPublishersAsync() => CtlAsync("set_vm_memory_high_watermark 0.4");

    private static async Task CtlAsync(string arguments)
    {
        if (TestServices.RabbitMqContainer is { } container)
        {
            var result = await container.ExecAsync(["rabbitmqctl", .. arguments.Split(' ')]);
            if (result.ExitCode != 0)
                throw new InvalidOperationException($"rabbitmqctl {arguments} failed: {result.Stderr}");
            return;
        }

        await ServiceControl.ShellAsync($"rabbitmqctl {arguments}", TimeSpan.FromMinutes(1));
    }

    private static Task WaitUntilUpAsync() =>
        Eventually.TrueAsync(AcceptsConnectionsAsync, TimeSpan.FromSeconds(90), "RabbitMQ to take connections on the test virtual host");

    private static async Task<bool> AcceptsConnectionsAsync()
    {
        try
        {
            await using var connection = await new ConnectionFactory { Uri = new Uri(TestEnvironment.RabbitMq) }.CreateConnectionAsync();
            return true;
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.BrokerUnreachableException or IOException or TimeoutException)
        {
            return false;
        }
    }

    private static async Task RunAsync(string verb)
    {
        if (TestServices.RabbitMqContainer is { } container)
        {
            // Its host port is bound statically, so the connection string stays valid across the restart.
            await container.StartAsync();
            return;
        }

        await ServiceControl.RunAsync("rabbitmq-server", verb, TimeSpan.FromMinutes(2));
    }

    private static async Task ShutdownAsync()
    {
        if (TestServices.RabbitMqContainer is { } container)
            await container.StopAsync();
        else
            await ServiceControl.ShellAsync("rabbitmqctl shutdown", TimeSpan.FromMinutes(2));
    }
}
