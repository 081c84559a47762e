using System.Net;
using System.Net.Sockets;
using DotNet.Testcontainers.Containers;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Testcontainers.PostgreSql;
using Testcontainers.RabbitMq;
using Worker.Migrations;

namespace Worker.IntegrationTests.Infrastructure;

/// <summary>
/// Where RabbitMQ and PostgreSQL come from, decided once per test run and logged: containers (Testcontainers) when a
/// Docker engine answers, else the local services that ops/test.sh installs, starts and exports
/// (ConnectionStrings__RabbitMq / __Postgres). TEST_SERVICES=local or TEST_SERVICES=containers skips the probe.
/// See docs/testing.md.
/// </summary>
public static class TestServices
{
    private static readonly Lazy<Chosen> Current = new(() => Task.Run(ChooseAsync).GetAwaiter().GetResult());

    public static string RabbitMq => Current.Value.RabbitMq;

    public static string Postgres => Current.Value.Postgres;

    /// <summary>The broker's container, or null when the run uses the local service.</summary>
    internal static IContainer? RabbitMqContainer => Current.Value.RabbitMqContainer;

    /// <summary>The database's container, or null when the run uses the local service.</summary>
    internal static IContainer? PostgresContainer => Current.Value.PostgresContainer;

    private sealed record Chosen(string RabbitMq, string Postgres, IContainer? RabbitMqContainer = null, IContainer? PostgresContainer = null);

    private static async Task<Chosen> ChooseAsync()
    {
        var requested = Environment.GetEnvironmentVariable("TEST_SERVICES")?.Trim().ToLowerInvariant();
        var (useContainers, why) = requested switch
        {
            "local" => (false, "TEST_SERVICES=local"),
            "containers" => (true, "TEST_SERVICES=containers"),
            null or "" or "auto" => await DockerAnswersAsync() ? (true, "a Docker engine answers") : (false, "no Docker engine answers"),
            _ => throw new InvalidOperationException($"TEST_SERVICES must be auto, local or containers, was '{requested}'"),
        };

        if (!useContainers)
        {
            var local = new Chosen(
                Environment.GetEnvironmentVariable("ConnectionStrings__RabbitMq") ?? "amqp://guest:guest@localhost:5672/worker-tests",
                Environment.GetEnvironmentVariable("ConnectionStrings__Postgres") ?? "Host=localhost;Database=llm_worker_test;Username=worker;Password=worker");
            Log($"local services ({why}): RabbitMQ {Redacted(local.RabbitMq)}, PostgreSQL {Redacted(local.Postgres)}");
            return local;
        }

        Log($"containers ({why}): starting RabbitMQ and PostgreSQL 15");
        return await StartContainersAsync();
    }

    private static async Task<Chosen> StartContainersAsync()
    {
        // Fixed host ports, chosen free now: a restarted container (RabbitMqService, PostgresService) keeps its address.
        var rabbitMq = new RabbitMqBuilder("rabbitmq:3.13")
            .WithPortBinding(FreePort(), 5672)
            .Build();
        var postgres = new PostgreSqlBuilder("postgres:15")
            .WithDatabase("llm_worker_test")
            .WithUsername("worker")
            .WithPassword("worker")
            .WithPortBinding(FreePort(), 5432)
            .Build();
        await Task.WhenAll(rabbitMq.StartAsync(), postgres.StartAsync());

        // What ops/migrate.sh does for the local database: the worker refuses a schema that is behind.
        var postgresConnection = postgres.GetConnectionString();
        await using (var dataSource = NpgsqlDataSource.Create(postgresConnection))
        await using (var context = AuditMigrator.CreateContext(dataSource))
        {
            await context.Database.MigrateAsync();
        }

        var chosen = new Chosen(rabbitMq.GetConnectionString(), postgresConnection, rabbitMq, postgres);
        Log($"containers up: RabbitMQ {Redacted(chosen.RabbitMq)}, PostgreSQL {Redacted(chosen.Postgres)} (audit schema migrated)");
        return chosen;
    }

    /// <summary>GET /_ping on DOCKER_HOST (unix:// or tcp://) or /var/run/docker.sock, with a short timeout.</summary>
    private static async Task<bool> DockerAnswersAsync()
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        var endpoint = new Uri(string.IsNullOrWhiteSpace(host) ? "unix:///var/run/docker.sock" : host);
        using var handler = new SocketsHttpHandler();
        Uri address;
        switch (endpoint.Scheme)
        {
            case "unix":
                if (!File.Exists(endpoint.AbsolutePath))
                    return false;
                handler.ConnectCallback = async (_, cancellationToken) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(endpoint.AbsolutePath), cancellationToken);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                };
                address = new Uri("http://docker/_ping");
                break;
            case "tcp":
                // A TLS-protected engine (DOCKER_TLS_VERIFY) needs client certificates: set TEST_SERVICES=containers there.
                address = new Uri($"http://{endpoint.Host}:{endpoint.Port}/_ping");
                break;
            default:
                return false;
        }

        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            using var response = await http.GetAsync(address);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or SocketException or IOException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Redacted(string connectionString) =>
        connectionString.StartsWith("amqp", StringComparison.OrdinalIgnoreCase)
            ? new UriBuilder(connectionString) { Password = "***" }.Uri.ToString()
            : new NpgsqlConnectionStringBuilder(connectionString) { Password = "***" }.ConnectionString;

    private static void Log(string message) => System.Console.Error.WriteLine($"[integration tests] services: {message}");
}
