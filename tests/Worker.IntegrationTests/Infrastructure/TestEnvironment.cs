namespace Worker.IntegrationTests.Infrastructure;

/// <summary>
/// Where the real services are. ops/test.sh starts them and exports these; the defaults match what it creates
/// (a database and a RabbitMQ virtual host of the tests' own, so a demo worker never takes their messages).
/// </summary>
public static class TestEnvironment
{
    public static string RabbitMq =>
        Environment.GetEnvironmentVariable("ConnectionStrings__RabbitMq") ?? "amqp://guest:guest@localhost:5672/worker-tests";

    public static string Postgres =>
        Environment.GetEnvironmentVariable("ConnectionStrings__Postgres") ?? "Host=localhost;Database=llm_worker_test;Username=worker;Password=worker";

    /// <summary>Upper bound on waiting for one result; generous, because CI machines are slow and shared.</summary>
    public static readonly TimeSpan ResultTimeout = TimeSpan.FromSeconds(60);
}
