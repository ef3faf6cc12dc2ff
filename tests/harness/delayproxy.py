"""A TCP proxy on loopback that delays every chunk by a fixed time in each direction: a distant server, made
of a local one (the kernel has no netem here). Order is kept; throughput is not limited."""
import asyncio
import socket
import threading
import time


class DelayProxy:
    def __init__(self, upstream_host, upstream_port, one_way_delay):
        self.host, self.port = "127.0.0.1", None  # the port the kernel gives the listener, once it listens
        self.upstream = (upstream_host, upstream_port)
        self.delay = one_way_delay
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(5)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._accept, self.host, 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _accept(self, client_reader, client_writer):
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        for writer in (client_writer, upstream_writer):
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer),
                             return_exceptions=True)

    async def _pipe(self, reader, writer):
        """Reads as data arrives; each chunk is written `delay` after it arrived, in order."""
        queue = asyncio.Queue()

        async def deliver():
            while (item := await queue.get()) is not None:
                due, chunk = item
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                writer.write(chunk)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(deliver())
        while chunk := await reader.read(65536):
            queue.put_nowait((time.monotonic() + self.delay, chunk))
        queue.put_nowait(None)
        await sender

    def stop(self):
        async def shut_down():
            """Closes the listener and ends every connection's tasks, so none is left pending on a closed loop."""
            self.server.close()
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shut_down(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
