from django.core.management.base import BaseCommand

from cameras.api.nodes import nodes_shown


class Command(BaseCommand):
    help = "List the worker nodes alive: per kind their capacity, load and cameras, and their last heartbeat."

    def handle(self, **options):
        shown = nodes_shown()
        if not shown:
            self.stdout.write("No worker node is announcing itself.")
        for node in shown:
            self.stdout.write(f"{node['name']}  last heartbeat {node['heartbeat']:%Y-%m-%d %H:%M:%S}")
            for kind, taken in node["kinds"].items():
                cameras = ", ".join(taken["cameras"]) or "-"
                self.stdout.write(
                    f"  {kind}: load {taken['load']:g} of {taken['capacity']:g}, {len(taken['cameras'])} of "
                    f"{taken['slots']} slots; cameras: {cameras}"
                )
